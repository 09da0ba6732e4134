/* The whole initramfs of the boot test: print a marker and the kernel command
 * line on the console, then power off. Built static by the test (gcc). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void) {
  char cmdline[4096] = "";
  mount("proc", "/proc", "proc", 0, NULL);
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd >= 0) {
    ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
    cmdline[n > 0 ? n : 0] = '\0';
    close(fd);
  }
  /* /dev/console is the last console= (tty1 with snapd's arguments): the
   * kernel log reaches every console, the serial one included. */
  char line[4200];
  int len = snprintf(line, sizeof line, "SNAPLINE-BOOTED cmdline: %s\n", cmdline);
  int kmsg = open("/dev/kmsg", O_WRONLY);
  if (kmsg >= 0) {
    write(kmsg, line, (size_t)len);
    close(kmsg);
  }
  printf("\n%s", line);
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
