// The recovery boot configuration of a UC20+ seed (ubuntu-seed's
// EFI/ubuntu/grub.cfg), written by Snapline from its documented behaviour,
// not copied from snapd (whose file is GPL): snapd's MakeRecoverySystemBootable
// installs a managed recovery grub.cfg there, whose contract is
//   - the first line `# Snapd-Boot-Config-Edition: N` (bootloader/asset.go,
//     editionFromConfigAsset): snapd manages the file and replaces it with its
//     own when its built-in edition is newer;
//   - the mode and system come from EFI/ubuntu/grubenv (snapd_recovery_mode,
//     snapd_recovery_system); no mode means install;
//   - each system's systems/<label>/grubenv names its kernel snap
//     (snapd_recovery_kernel) and extra or full kernel arguments
//     (snapd_extra_cmdline_args, snapd_full_cmdline_args);
//   - the kernel snap is loop-mounted and its kernel.efi chainloaded with
//     `snapd_recovery_mode=<mode> snapd_recovery_system=<label>` then the
//     static arguments (`console=ttyS0 console=tty1 panic=-1` on x86-64,
//     `panic=-1` elsewhere) and the extra ones, or the full ones alone;
//   - run mode, once installed, chainloads ubuntu-boot's own GRUB.
// Differences from snapd's text are documented in docs/image.md (Boot).

/** The edition Snapline claims: snapd 2.57's own recovery config is edition 1, so snapd replaces ours only with a newer one. */
export const RECOVERY_GRUB_EDITION = 1;

const LINES = [
  `# Snapd-Boot-Config-Edition: ${RECOVERY_GRUB_EDITION}`,
  '#',
  '# Recovery boot menu of this Ubuntu Core seed, written by Snapline\'s image',
  '# builder. snapd manages this file from now on.',
  '',
  'set timeout=3',
  'set timeout_style=hidden',
  '',
  '# The mode and system to boot, as snapd left them (install on a new image).',
  'if [ -f /EFI/ubuntu/grubenv ]; then',
  '    load_env --file /EFI/ubuntu/grubenv snapd_recovery_mode snapd_recovery_system',
  'fi',
  'if [ -z "$snapd_recovery_mode" ]; then',
  '    set snapd_recovery_mode=install',
  'fi',
  '',
  '# Arguments every recovery kernel gets.',
  'set seed_kernel_args="panic=-1"',
  'set seed_grub_efi=""',
  'if [ "$grub_cpu" = "x86_64" ]; then',
  '    set seed_kernel_args="console=ttyS0 console=tty1 panic=-1"',
  '    set seed_grub_efi=grubx64.efi',
  'elif [ "$grub_cpu" = "arm64" ]; then',
  '    set seed_grub_efi=grubaa64.efi',
  'fi',
  '',
  '# Run mode: the installed system boots with its own GRUB on ubuntu-boot.',
  'search --no-floppy --set=seed_run_fs --label ubuntu-boot',
  'if [ "$snapd_recovery_mode" = "run" ]; then',
  '    set default=run',
  'fi',
  'if [ -n "$seed_run_fs" -a -n "$seed_grub_efi" ]; then',
  '    menuentry "Run the installed system" --id=run --hotkey=n "$seed_run_fs" "$seed_grub_efi" {',
  '        chainloader ($2)/EFI/boot/$3',
  '    }',
  'fi',
  '',
  '# One entry per recovery system and mode. The entry\'s own arguments carry',
  '# the values of this pass of the loop: $2 kernel snap, $3 mode, $4 system,',
  '# $5 kernel arguments.',
  'for seed_system in /systems/*; do',
  '    regexp --set 1:seed_label "/([a-z0-9](-?[a-z0-9])*)\\$" "$seed_system"',
  '    if [ -z "$seed_label" ]; then',
  '        continue',
  '    fi',
  '    # Without a system in grubenv, the earliest label (the factory one) boots.',
  '    if [ -z "$seed_first" ]; then',
  '        set seed_first="$seed_label"',
  '    elif [ "$seed_label" \\< "$seed_first" ]; then',
  '        set seed_first="$seed_label"',
  '    fi',
  '    set snapd_recovery_kernel=""',
  '    set snapd_extra_cmdline_args=""',
  '    set snapd_full_cmdline_args=""',
  '    load_env --file /systems/$seed_label/grubenv snapd_recovery_kernel snapd_extra_cmdline_args snapd_full_cmdline_args',
  '    if [ -n "$snapd_full_cmdline_args" ]; then',
  '        set seed_args="$snapd_full_cmdline_args"',
  '    else',
  '        set seed_args="$seed_kernel_args $snapd_extra_cmdline_args"',
  '    fi',
  '    menuentry "Install using $seed_label" --id=install-$seed_label --hotkey=i "$snapd_recovery_kernel" install "$seed_label" "$seed_args" {',
  '        loopback loop $2',
  '        chainloader (loop)/kernel.efi snapd_recovery_mode=$3 snapd_recovery_system=$4 $5',
  '    }',
  '    menuentry "Recover using $seed_label" --id=recover-$seed_label --hotkey=r "$snapd_recovery_kernel" recover "$seed_label" "$seed_args" {',
  '        loopback loop $2',
  '        chainloader (loop)/kernel.efi snapd_recovery_mode=$3 snapd_recovery_system=$4 $5',
  '    }',
  '    menuentry "Factory reset using $seed_label" --id=factory-reset-$seed_label "$snapd_recovery_kernel" factory-reset "$seed_label" "$seed_args" {',
  '        loopback loop $2',
  '        chainloader (loop)/kernel.efi snapd_recovery_mode=$3 snapd_recovery_system=$4 $5',
  '    }',
  'done',
  '',
  'if [ "$snapd_recovery_mode" != "run" ]; then',
  '    if [ -n "$snapd_recovery_system" ]; then',
  '        set default="$snapd_recovery_mode-$snapd_recovery_system"',
  '    else',
  '        set default="$snapd_recovery_mode-$seed_first"',
  '    fi',
  'fi',
  '',
  "menuentry 'UEFI Firmware Settings' --id=uefi-firmware --hotkey=f {",
  '    fwsetup',
  '}',
];

/** ubuntu-seed's EFI/ubuntu/grub.cfg. */
export function recoveryGrubCfg(): Buffer {
  return Buffer.from(LINES.join('\n') + '\n');
}
