// What the boot test (test/image/boot.test.ts, bench/image-boot.ts) builds
// from Debian's packages, as a brand would for its own hardware: a kernel
// snap from Debian's kernel (linux-image-amd64) with a one-program initramfs
// that prints a marker and the kernel command line, then powers off; a gadget
// whose bootloader is Debian's GRUB (grub-mkimage with the prefix Ubuntu
// Core's GRUB has, /EFI/ubuntu); and QEMU with OVMF to start the disk image.
// UC20+ kernels carry kernel.efi, a unified kernel image: Debian's
// systemd-boot stub with the kernel and the initramfs as sections (objcopy).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DISK_TOOLS, missingTools, toolDirs } from '../../../src/image/disk.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const GRUB_MODULES = '/usr/lib/grub/x86_64-efi';
export const MARKER = 'SNAPLINE-BOOTED';

/** Debian's packaged kernel, if installed. */
export function debianKernel(): string | undefined {
  const v = existsSync('/boot') ? readdirSync('/boot').filter((f) => /^vmlinuz-.*-amd64$/.test(f)).sort() : [];
  return v.length > 0 ? join('/boot', v[v.length - 1]!) : undefined;
}

/** Why the boot test cannot run here, or undefined. */
export async function missingForBoot(): Promise<string | undefined> {
  const dirs = toolDirs(process.env['PATH']);
  const has = async (tool: string) => (await missingTools([tool], dirs)).length === 0;
  const missing: string[] = [];
  if (!(await has('qemu-system-x86_64'))) missing.push('qemu-system-x86_64 (qemu-system-x86)');
  if (!existsSync(OVMF_CODE)) missing.push('OVMF (ovmf)');
  if (!(await has('grub-mkimage')) || !existsSync(GRUB_MODULES)) missing.push('grub-mkimage and its EFI modules (grub-efi-amd64-bin)');
  if (!existsSync(STUB)) missing.push('the EFI stub (systemd-boot-efi)');
  if (!(await has('objcopy'))) missing.push('objcopy (binutils)');
  if (!(await has('gcc'))) missing.push('gcc');
  if (!debianKernel()) missing.push('a kernel in /boot (linux-image-amd64)');
  missing.push(...(await missingTools(DISK_TOOLS, dirs)));
  return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
}

function run(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/** A newc cpio archive (what the kernel unpacks as its initramfs): folders, a console device, files. */
export function cpio(entries: readonly { name: string; mode: number; data?: Buffer; rdev?: [number, number] }[]): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  const add = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]) => {
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    const head = Buffer.concat([Buffer.from(header + name + '\0', 'latin1')]);
    parts.push(head, pad4(head.length), data, pad4(data.length));
  };
  for (const e of entries) add(e.name, e.mode, e.data ?? Buffer.alloc(0), e.rdev);
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** The initramfs: /init (static), /proc, /dev/console, /dev/kmsg (the marker goes to the kernel log, which every console shows). */
export async function initramfs(dir: string): Promise<Buffer> {
  await mkdir(dir, { recursive: true });
  const bin = join(dir, 'init');
  run('gcc', ['-static', '-Os', '-o', bin, join(here, 'init.c')]);
  return cpio([
    { name: 'dev', mode: 0o40755 },
    { name: 'dev/console', mode: 0o20600, rdev: [5, 1] },
    { name: 'dev/kmsg', mode: 0o20644, rdev: [1, 11] },
    { name: 'proc', mode: 0o40755 },
    { name: 'init', mode: 0o100755, data: await readFile(bin) },
  ]);
}

/** kernel.efi: the systemd-boot stub with the kernel and the initramfs (no .cmdline, so GRUB's arguments reach the kernel). */
export async function unifiedKernel(dir: string, kernel: string, initrd: string): Promise<string> {
  const osrel = join(dir, 'os-release');
  await writeFile(osrel, 'NAME="Snapline boot test"\nID=snapline-test\n');
  const out = join(dir, 'kernel.efi');
  run('objcopy', [
    '--add-section', `.osrel=${osrel}`, '--change-section-vma', '.osrel=0x20000',
    '--add-section', `.linux=${kernel}`, '--change-section-vma', '.linux=0x2000000',
    '--add-section', `.initrd=${initrd}`, '--change-section-vma', '.initrd=0x3000000',
    STUB, out,
  ]);
  return out;
}

/** Debian's GRUB as an EFI binary with Ubuntu Core's prefix: it reads EFI/ubuntu/grub.cfg from the partition it booted from. */
export function grubEfi(out: string): void {
  const modules = ['part_gpt', 'part_msdos', 'fat', 'ext2', 'normal', 'configfile', 'loopback', 'squash4', 'linux', 'chain', 'search', 'search_label', 'search_fs_file', 'search_fs_uuid', 'echo', 'test', 'regexp', 'loadenv', 'all_video', 'serial', 'terminal', 'sleep', 'halt', 'reboot', 'cat', 'ls', 'gzio', 'efifwsetup'];
  run('grub-mkimage', ['-O', 'x86_64-efi', '-p', '/EFI/ubuntu', '-o', out, ...modules]);
}

/** Writes a snap source folder: meta/snap.yaml and files. */
export async function snapSource(dir: string, files: Record<string, string | Buffer>): Promise<string> {
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), c);
  }
  return dir;
}

export async function copyKernel(to: string): Promise<string> {
  await copyFile(debianKernel()!, to);
  return to;
}

/** The QEMU arguments shared by every boot here: one CPU, serial console on stdout, no display, no network, power-off ends it. */
function qemuArgs(kvm: boolean): string[] {
  return ['-machine', `q35${kvm ? ',accel=kvm' : ''}`, '-m', '768', '-smp', '1', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-net', 'none'];
}

function kvmUsable(): boolean {
  return !kvmBroken && existsSync('/dev/kvm') && spawnSync('sh', ['-c', 'test -w /dev/kvm']).status === 0;
}

/** Set once KVM failed here: a /dev/kvm can be writable yet unable to run the firmware (nested virtualisation without some CPU features). */
let kvmBroken = false;
const KVM_FAILED = /KVM internal error|failed to initialize kvm|kvm run failed/i;

type BootResult = { output: string; booted: boolean; seconds: number; accel: 'kvm' | 'tcg' };

/** Boots with KVM when usable; when KVM fails (QEMU stops at its first failing instruction), again in software emulation. */
async function withAccel(run: (kvm: boolean) => Promise<Omit<BootResult, 'accel'>>): Promise<BootResult> {
  const kvm = kvmUsable();
  const r = await run(kvm);
  if (!kvm || r.booted || !KVM_FAILED.test(r.output)) return { ...r, accel: kvm ? 'kvm' : 'tcg' };
  kvmBroken = true;
  const again = await run(false);
  return { ...again, accel: 'tcg', output: `(KVM failed here, booted again in software emulation)\n${again.output}` };
}

/** Runs QEMU until the marker line is complete, the machine powers off, or the time is up. */
function runUntilMarker(args: readonly string[], timeoutMs: number, started: number): Promise<Omit<BootResult, 'accel'>> {
  return new Promise((resolve, reject) => {
    const q = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const seen = () => new RegExp(`${MARKER} cmdline: [^\\n]*\\n`).test(output);
    const done = (booted: boolean) => {
      clearTimeout(timer);
      q.kill('SIGKILL');
      resolve({ output, booted, seconds: (Date.now() - started) / 1000 });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    q.stdout.on('data', (d: Buffer) => {
      output += d.toString('latin1');
      if (seen()) done(true);
    });
    q.stderr.on('data', (d: Buffer) => {
      output += d.toString('latin1');
      // A KVM failure leaves the machine stopped, not off: no point waiting for the time limit.
      if (KVM_FAILED.test(output)) done(false);
    });
    q.on('close', () => done(seen()));
    q.on('error', reject);
  });
}

/** The reference: the same kernel and initramfs started by QEMU directly (no firmware, no GRUB, no disk). */
export function bootDirect(kernel: string, initrd: string, append: string, timeoutMs: number): Promise<BootResult> {
  return withAccel((kvm) => runUntilMarker([...qemuArgs(kvm), '-kernel', kernel, '-initrd', initrd, '-append', append], timeoutMs, Date.now()));
}

/**
 * Starts the disk image under QEMU with OVMF (software emulation unless
 * /dev/kvm is usable and works) and resolves with the serial console's output once the
 * marker line is complete, the machine powers off, or the time is up.
 */
export async function bootImage(image: string, work: string, timeoutMs: number): Promise<BootResult> {
  const vars = join(work, 'OVMF_VARS.fd');
  return withAccel(async (kvm) => {
    const started = Date.now();
    await copyFile(OVMF_VARS, vars);
    return runUntilMarker(
      [
        ...qemuArgs(kvm),
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
        '-drive', `file=${image},format=raw,if=virtio`,
      ],
      timeoutMs,
      started,
    );
  });
}
