// SPDX-License-Identifier: LGPL-2.1-or-later

// Package corraltest starts a corrald of its own for a test: in a cgroup root made for it below
// the cgroup2 mount, listening on a socket in a directory of its own, stopped (SIGTERM through its
// pidfd) and cleaned up when the test ends. It needs root and cgroup v2; without them, or without
// $CORRAL_DAEMON_BIN (the corrald to run), the test is skipped.
package corraltest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Deadline is how long anything corrald does may take before the test gives up: generous, since
// tests run on loaded machines.
const Deadline = 60 * time.Second

// Daemon is a running corrald.
type Daemon struct {
	// Address is its socket.
	Address string
	// Root is its cgroup root, a path in the cgroup2 mount.
	Root string
	// Dir is a directory of the test's own (the socket and corrald's log are there).
	Dir    string
	cmd    *exec.Cmd
	pidfd  int
	exited chan error // its exit status, once it has exited
}

var counter int32

// cgroup2Mount is where cgroup2 is mounted, from /proc/self/mountinfo.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), " - ", 2)
		fields := strings.Fields(parts[0])
		if len(parts) == 2 && strings.HasPrefix(parts[1], "cgroup2 ") && len(fields) > 4 {
			return fields[4], nil
		}
	}
	return "", fmt.Errorf("no cgroup2 mount")
}

func pidfdOpen(pid int) (int, error) {
	fd, _, e := syscall.Syscall(434 /* pidfd_open, Linux 5.3 */, uintptr(pid), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func pidfdSignal(pidfd int, sig syscall.Signal) error {
	_, _, e := syscall.Syscall6(424 /* pidfd_send_signal, Linux 5.1 */, uintptr(pidfd), uintptr(sig), 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Start starts corrald with extra arguments; it is stopped and its root removed when tb ends.
func Start(tb testing.TB, extra ...string) *Daemon {
	tb.Helper()
	bin := os.Getenv("CORRAL_DAEMON_BIN")
	if bin == "" {
		tb.Skip("CORRAL_DAEMON_BIN is not set (meson test sets it)")
	}
	if os.Geteuid() != 0 {
		tb.Skip("needs root")
	}
	mnt, err := cgroup2Mount()
	if err != nil {
		tb.Skip("needs cgroup v2: ", err)
	}
	d := &Daemon{Dir: tb.TempDir(), pidfd: -1}
	d.Address = filepath.Join(d.Dir, "corrald.sock")
	d.Root = filepath.Join(mnt, fmt.Sprintf("corral-gotest.%d.%d", os.Getpid(), atomic.AddInt32(&counter, 1)))
	if err := os.Mkdir(d.Root, 0o755); err != nil {
		tb.Fatalf("cannot make the test's cgroup root: %v", err)
	}
	tb.Cleanup(func() { d.stop(tb) })
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(d.Dir, "systemd-notify"), Net: "unixgram"})
	if err != nil {
		tb.Fatal(err)
	}
	defer notify.Close()
	log, err := os.Create(filepath.Join(d.Dir, "corrald.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer log.Close()
	args := append([]string{"--address", d.Address, "--cgroup-root", d.Root, "--socket-mode", "0666",
		"--log-format", "json", "--log-target", "stderr"}, extra...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+filepath.Join(d.Dir, "systemd-notify"))
	d.cmd.Stderr = log
	if err := d.cmd.Start(); err != nil {
		tb.Fatalf("cannot start corrald: %v", err)
	}
	// Not yet waited for: the pid is still corrald's.
	if d.pidfd, err = pidfdOpen(d.cmd.Process.Pid); err != nil {
		tb.Fatalf("pidfd_open: %v", err)
	}
	d.exited = make(chan error, 1)
	go func() { d.exited <- d.cmd.Wait() }()
	d.waitReady(tb, notify)
	return d
}

// waitReady waits for READY=1 on notify, or for corrald's exit.
func (d *Daemon) waitReady(tb testing.TB, notify *net.UnixConn) {
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		notify.SetReadDeadline(time.Now().Add(Deadline))
		for {
			n, err := notify.Read(buf)
			if err != nil {
				ready <- err
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l == "READY=1" {
					ready <- nil
					return
				}
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			tb.Fatalf("corrald did not send READY=1 within %v: %v\n%s", Deadline, err, d.Log())
		}
	case err := <-d.exited:
		d.exited <- err
		tb.Fatalf("corrald exited before it was ready (%v)\n%s", err, d.Log())
	}
}

// Log is what corrald logged so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "corrald.log"))
	return string(b)
}

// stop ends corrald with SIGTERM (it stops its backends first), then checks that its cgroup root
// is empty and removes it.
func (d *Daemon) stop(tb testing.TB) {
	if d.cmd != nil && d.pidfd >= 0 {
		if err := pidfdSignal(d.pidfd, syscall.SIGTERM); err != nil {
			tb.Errorf("cannot signal corrald: %v", err)
		}
		var err error
		select {
		case err = <-d.exited:
		case <-time.After(Deadline):
			pidfdSignal(d.pidfd, syscall.SIGKILL)
			err = <-d.exited
			tb.Errorf("corrald did not exit within %v of SIGTERM: killed", Deadline)
		}
		syscall.Close(d.pidfd)
		d.pidfd = -1
		if err != nil {
			tb.Errorf("corrald exited with %v\n%s", err, d.Log())
		}
	}
	entries, _ := os.ReadDir(d.Root)
	for _, e := range entries {
		if e.IsDir() {
			tb.Errorf("leaf cgroup left behind: %s/%s", d.Root, e.Name())
		}
	}
	if err := os.Remove(d.Root); err != nil && !os.IsNotExist(err) {
		tb.Errorf("cannot remove the test's cgroup root %s: %v", d.Root, err)
	}
}
