// SPDX-License-Identifier: LGPL-2.1-or-later

package corral

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"corral/bindings/go/corraltest"
)

func setup(t *testing.T) (*Client, context.Context) {
	d := corraltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*corraltest.Deadline)
	t.Cleanup(cancel)
	c, err := Dial(ctx, d.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ctx
}

func sleeper(name string) Spec {
	return Spec{Name: name, Command: []string{"/bin/sleep", "1000"}}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestStartStatusListStop(t *testing.T) {
	c, ctx := setup(t)
	b, err := c.Start(ctx, sleeper("one"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "one" || b.PID == nil || b.Launch == nil {
		t.Fatalf("Start gave %+v", b)
	}
	if b, err = c.Status(ctx, "one"); err != nil || b.State != "running" {
		t.Fatalf("Status: %+v, %v", b, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "one" {
		t.Fatalf("List: %+v, %v", list, err)
	}
	v, err := c.Stop(ctx, "one", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if v.Event.Event != "stopped" || v.Level() != LevelInfo || v.Level().Warning() || !v.Intentional || v.AlreadyStopped {
		t.Fatalf("a stop asked for is stopped at info, got %+v", v)
	}
	if v.Signal == nil || *v.Signal != "SIGTERM" {
		t.Fatalf("sleep ends by SIGTERM, got %+v", v.Signal)
	}
	if v, err = c.Stop(ctx, "one", 0); err != nil || !v.AlreadyStopped || v.Event.Event != "stopped" {
		t.Fatalf("a second Stop: %+v, %v", v, err)
	}
	if b, err = c.Restart(ctx, "one", true); err != nil || b.State != "running" {
		t.Fatalf("Restart: %+v, %v", b, err)
	}
	if m, err := c.Metrics(ctx, false); err != nil || !strings.Contains(m, "one") {
		t.Fatalf("Metrics: %q, %v", m, err)
	}
	if _, err = c.Stop(ctx, "one", 0); err != nil {
		t.Fatal(err)
	}
	if err = c.Remove(ctx, "one"); err != nil {
		t.Fatal(err)
	}
}

func TestAnExitNobodyAskedForIsAWarning(t *testing.T) {
	c, ctx := setup(t)
	w, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err = c.Start(ctx, Spec{Name: "crash", Command: []string{"/bin/sh", "-c", "exit 3"}}); err != nil {
		t.Fatal(err)
	}
	for e := range w.Events {
		if e.Backend == "crash" && e.IsVerdict() {
			v := Verdict{Event: e}
			if e.Event != "exited" || !v.Level().Warning() || e.ExitCode == nil || *e.ExitCode != 3 || e.Intentional {
				t.Fatalf("exit 3 of a service is exited at warning, got %+v", e)
			}
			return
		}
	}
	t.Fatalf("the watch ended without the verdict: %v", w.Err())
}

func TestErrorsAreValuesWithTheirParameters(t *testing.T) {
	c, ctx := setup(t)
	if _, err := c.Start(ctx, sleeper("dup")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Start(ctx, sleeper("dup"))
	var e *Error
	var p BackendExistsParameters
	if !errors.Is(err, ErrBackendExists) || !errors.As(err, &e) || e.Decode(&p) != nil || p.Name != "dup" {
		t.Fatalf("a second Start: %v", err)
	}
	if errors.Is(err, ErrNoSuchBackend) {
		t.Fatal("errors.Is matched another error's name")
	}
	var running BackendRunningParameters
	if err = c.Remove(ctx, "dup"); !errors.Is(err, ErrBackendRunning) || err.(*Error).Decode(&running) != nil ||
		running.Name != "dup" || running.State != "running" {
		t.Fatalf("Remove of one that runs: %v", err)
	}
	if n, err := c.Kill(ctx, "dup", "SIGCONT", true); err != nil || n != 1 {
		t.Fatalf("Kill: %d, %v", n, err)
	}
	var nsb NoSuchBackendParameters
	if _, err = c.Status(ctx, "none"); !errors.Is(err, ErrNoSuchBackend) || err.(*Error).Decode(&nsb) != nil || nsb.Name != "none" {
		t.Fatalf("Status of none: %v", err)
	}
	_, err = c.Start(ctx, Spec{Name: "missing", Command: []string{"/nonexistent/binary"}})
	var sf StartFailedParameters
	if !errors.Is(err, ErrStartFailed) || err.(*Error).Decode(&sf) != nil || sf.Verdict == nil ||
		sf.Verdict.Event.Event != "start-failed" || sf.Verdict.Level() != LevelError {
		t.Fatalf("Start of a missing binary: %v", err)
	}
	var ip InvalidParameterParameters
	s := sleeper("bad")
	s.StopSignal = String("SIGNOPE")
	if _, err = c.Start(ctx, s); !errors.Is(err, ErrInvalidParameter) || err.(*Error).Decode(&ip) != nil || ip.Parameter != "stopSignal" {
		t.Fatalf("Start with a bad signal: %v", err)
	}
	if err = c.Call(ctx, Interface+".Frob", nil, nil); !errors.Is(err, ErrMethodNotFound) {
		t.Fatalf("an unknown method: %v", err)
	}
	if _, err = c.Stop(ctx, "dup", 0); err != nil {
		t.Fatal(err)
	}
}

func TestReadyTCPAndLogs(t *testing.T) {
	c, ctx := setup(t)
	port := freePort(t)
	s := Spec{Name: "web", Command: []string{"/bin/busybox", "httpd", "-f", "-v", "-p", fmt.Sprintf("127.0.0.1:%d", port)},
		Ready: String(fmt.Sprintf("tcp:127.0.0.1:%d", port)), WaitReady: Bool(true), StopTimeoutUSec: USec(30 * time.Second)}
	b, err := c.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if b.State != "running" {
		t.Fatalf("with waitReady, Start answers once it is ready: %+v", b)
	}
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("ready, but not listening: %v", err)
	}
	conn.Close()
	if _, err = c.Logs(ctx, "web", 0); err != nil {
		t.Fatal(err)
	}
	if _, err = c.Stop(ctx, "web", 0); err != nil {
		t.Fatal(err)
	}
}

func TestFollowLogs(t *testing.T) {
	c, ctx := setup(t)
	if _, err := c.Start(ctx, Spec{Name: "talker", Command: []string{"/bin/sh", "-c", "echo first; exec sleep 1000"}}); err != nil {
		t.Fatal(err)
	}
	f, err := c.FollowLogs(ctx, "talker", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for d := range f.Data {
		if got += d; strings.Contains(got, "first\n") {
			break
		}
	}
	f.Close()
	if !strings.Contains(got, "first\n") {
		t.Fatalf("output: %q (%v)", got, f.Err())
	}
	for range f.Data { // closed after Close
	}
	if _, err = c.Stop(ctx, "talker", 0); err != nil {
		t.Fatal(err)
	}
}

// A context that ends closes the connection: the call returns its error, the next call dials
// again.
func TestContextCancellation(t *testing.T) {
	c, ctx := setup(t)
	w, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Ready once a port nobody listens on takes a connection, with no time limit: a Start with
	// waitReady that is never answered.
	s := sleeper("waiter")
	s.Ready, s.WaitReady, s.StartTimeoutUSec = String(fmt.Sprintf("tcp:127.0.0.1:%d", freePort(t))), Bool(true), Int(0)
	short, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := c.Start(short, s); done <- err }()
	for e := range w.Events { // corrald has taken the call: cancel it while it waits
		if e.Backend == "waiter" && e.Event == "started" {
			break
		}
	}
	w.Close()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled Start: %v", err)
	}
	if b, err := c.Status(ctx, "waiter"); err != nil || b.State != "starting" {
		t.Fatalf("the next call: %+v %v", b, err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	w, err = c.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	wcancel()
	for range w.Events {
	}
	if !errors.Is(w.Err(), context.Canceled) {
		t.Fatalf("a watch whose context ends: %v", w.Err())
	}
	if _, err = c.StopAll(ctx, 0); err != nil {
		t.Fatal(err)
	}
}
