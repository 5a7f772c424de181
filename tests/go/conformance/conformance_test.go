// SPDX-License-Identifier: LGPL-2.1-or-later

// Package conformance drives corrald with the reference Go implementation of varlink
// (github.com/varlink/go, Debian's golang-github-varlink-go-dev), as any generic client would:
// GetInfo, GetInterfaceDescription, every method of io.corral.Supervisor, its errors with their
// parameters, "more" answered with "continues", and "oneway".
package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/varlink/go/varlink"
	"github.com/varlink/go/varlink/idl"

	"corral/bindings/go/corraltest"
)

const iface = "io.corral.Supervisor."

func connect(t *testing.T) (*varlink.Connection, context.Context, *corraltest.Daemon) {
	d := corraltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*corraltest.Deadline)
	t.Cleanup(cancel)
	c, err := varlink.NewConnection(ctx, "unix:"+d.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ctx, d
}

type backend struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type backendReply struct {
	Backend backend `json:"backend"`
}

func sleeper(name string) map[string]interface{} {
	return map[string]interface{}{"name": name, "command": []string{"/bin/sleep", "1000"}}
}

// wantError checks err is the varlink error name with the parameter key=value.
func wantError(t *testing.T, what string, err error, name, key, value string) {
	t.Helper()
	var e *varlink.Error
	if !errors.As(err, &e) || e.Name != name {
		t.Fatalf("%s: want %s, got %T %v", what, name, err, err)
	}
	record(name)
	if key == "" {
		return
	}
	var p map[string]interface{}
	if raw, ok := e.Parameters.(*json.RawMessage); !ok || raw == nil || json.Unmarshal(*raw, &p) != nil || p[key] != value {
		t.Fatalf("%s: %s wants %s=%q, got %v", what, name, key, value, e.Parameters)
	}
}

// GetInfo sends "parameters": null, which corrald once refused.
func TestGetInfoAndDescriptions(t *testing.T) {
	c, ctx, _ := connect(t)
	var vendor, product, version, url string
	var ifaces []string
	if err := c.GetInfo(ctx, &vendor, &product, &version, &url, &ifaces); err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	if product != "corrald" || strings.Join(ifaces, " ") != "org.varlink.service io.corral.Supervisor" {
		t.Fatalf("GetInfo: %s %s %v", vendor, product, ifaces)
	}
	for _, name := range ifaces {
		desc, err := c.GetInterfaceDescription(ctx, name)
		if err != nil || !strings.Contains(desc, "interface "+name+"\n") {
			t.Fatalf("GetInterfaceDescription(%s): %v", name, err)
		}
		if name == "org.varlink.service" { // the parser takes only lower-case names (docs/varlink.md)
			if _, err := idl.New(desc); err != nil {
				t.Fatalf("idl.New(%s): %v", name, err)
			}
		}
	}
	_, err := c.GetInterfaceDescription(ctx, "org.example.none")
	var inf *varlink.InterfaceNotFound
	if !errors.As(err, &inf) || inf.Interface != "org.example.none" {
		t.Fatalf("an unknown interface: %v", err)
	}
}

func TestEveryMethod(t *testing.T) {
	c, ctx, _ := connect(t)
	var b backendReply
	if err := call(c, ctx, iface+"Start", sleeper("one"), &b); err != nil || b.Backend.Name != "one" {
		t.Fatalf("Start: %+v %v", b, err)
	}
	if err := call(c, ctx, iface+"Status", map[string]string{"name": "one"}, &b); err != nil || b.Backend.State != "running" {
		t.Fatalf("Status: %+v %v", b, err)
	}
	var list struct{ Backends []backend }
	if err := call(c, ctx, iface+"List", nil, &list); err != nil || len(list.Backends) != 1 {
		t.Fatalf("List: %+v %v", list, err)
	}
	var logs struct{ Data *string }
	if err := call(c, ctx, iface+"Logs", map[string]interface{}{"name": "one", "lines": 0}, &logs); err != nil || logs.Data == nil {
		t.Fatalf("Logs: %+v %v", logs, err)
	}
	var kill struct{ Processes int }
	if err := call(c, ctx, iface+"Kill", map[string]string{"name": "one", "signal": "SIGCONT"}, &kill); err != nil || kill.Processes != 1 {
		t.Fatalf("Kill: %+v %v", kill, err)
	}
	// ReloadBackend: by its reloadSignal; one with neither execReload nor reloadSignal cannot be.
	if err := call(c, ctx, iface+"Start", map[string]interface{}{"name": "hup", "command": []string{"/bin/sleep", "1000"},
		"reloadSignal": "SIGCONT"}, nil); err != nil {
		t.Fatal(err)
	}
	var reloaded struct{ Backends []map[string]interface{} }
	if err := call(c, ctx, iface+"ReloadBackend", map[string][]string{"names": {"hup"}}, &reloaded); err != nil ||
		len(reloaded.Backends) != 1 || reloaded.Backends[0]["result"] != "ok" {
		t.Fatalf("ReloadBackend: %+v %v", reloaded, err)
	}
	wantError(t, "ReloadBackend of one that cannot be",
		call(c, ctx, iface+"ReloadBackend", map[string][]string{"names": {"one"}}, nil),
		iface+"ReloadNotSupported", "name", "one")
	if err := call(c, ctx, iface+"Stop", map[string]string{"name": "hup"}, nil); err != nil {
		t.Fatal(err)
	}
	var metrics struct{ Text string }
	if err := call(c, ctx, iface+"Metrics", nil, &metrics); err != nil || !strings.Contains(metrics.Text, "one") {
		t.Fatalf("Metrics: %+v %v", metrics, err)
	}
	if err := call(c, ctx, iface+"Restart", map[string]string{"name": "one"}, &b); err != nil || b.Backend.Name != "one" {
		t.Fatalf("Restart: %+v %v", b, err)
	}
	var stop struct {
		Verdict        map[string]interface{} `json:"verdict"`
		AlreadyStopped bool                   `json:"alreadyStopped"`
	}
	if err := call(c, ctx, iface+"Stop", map[string]string{"name": "one"}, &stop); err != nil ||
		stop.Verdict["event"] != "stopped" || stop.Verdict["level"] != "info" || stop.AlreadyStopped {
		t.Fatalf("Stop: %+v %v", stop, err)
	}
	if err := call(c, ctx, iface+"Remove", map[string]string{"name": "one"}, nil); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := call(c, ctx, iface+"Start", sleeper("two"), &b); err != nil {
		t.Fatal(err)
	}
	var all struct{ Verdicts []map[string]interface{} }
	if err := call(c, ctx, iface+"StopAll", nil, &all); err != nil || len(all.Verdicts) != 1 {
		t.Fatalf("StopAll: %+v %v", all, err)
	}
	// ResetFailed of one that is gone, not failed; DaemonReload (and Reload, its old name) without
	// definition files: an answer of
	// the interface either way.
	for _, m := range []struct {
		method string
		params interface{}
	}{{"ResetFailed", map[string]string{"name": "two"}}, {"DaemonReload", nil}, {"Reload", nil}} {
		var out json.RawMessage
		err := call(c, ctx, iface+m.method, m.params, &out)
		var e *varlink.Error
		if err != nil && (!errors.As(err, &e) || !strings.HasPrefix(e.Name, iface)) {
			t.Fatalf("%s: %v", m.method, err)
		}
	}
}

func TestErrorsWithTheirParameters(t *testing.T) {
	c, ctx, d := connect(t)
	if err := call(c, ctx, iface+"Start", sleeper("dup"), nil); err != nil {
		t.Fatal(err)
	}
	wantError(t, "a second Start", call(c, ctx, iface+"Start", sleeper("dup"), nil), iface+"BackendExists", "name", "dup")
	wantError(t, "Status of none", call(c, ctx, iface+"Status", map[string]string{"name": "none"}, nil),
		iface+"NoSuchBackend", "name", "none")
	wantError(t, "Remove of one that runs", call(c, ctx, iface+"Remove", map[string]string{"name": "dup"}, nil),
		iface+"BackendRunning", "state", "running")
	wantError(t, "Start of a missing binary",
		call(c, ctx, iface+"Start", map[string]interface{}{"name": "x", "command": []string{"/nonexistent"}}, nil),
		iface+"StartFailed", "name", "x")

	err := call(c, ctx, iface+"Stop", map[string]interface{}{"name": "dup", "bogus": 1}, nil)
	var ip *varlink.InvalidParameter
	if !errors.As(err, &ip) || ip.Parameter != "bogus" {
		t.Fatalf("an unknown parameter: %v", err)
	}
	var mnf *varlink.MethodNotFound
	if err = call(c, ctx, iface+"Frob", nil, nil); !errors.As(err, &mnf) || mnf.Method != iface+"Frob" {
		t.Fatalf("an unknown method: %v", err)
	}
	wantError(t, "Watch without more", call(c, ctx, iface+"Watch", nil, nil), "org.varlink.service.ExpectedMore", "", "")

	// Larger than corrald takes: MessageTooLarge with its limit, then the connection is closed.
	// The reference client would fail writing the rest before it reads the answer: a plain
	// connection writes on while the answer is read.
	raw, err := net.Dial("unix", d.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	go raw.Write([]byte(`{"method":"` + iface + `Status","parameters":{"name":"` + strings.Repeat("x", 4<<20) + `"}}`))
	answer, err := bufio.NewReader(raw).ReadBytes(0)
	var tooLarge struct {
		Error      string
		Parameters struct{ Limit int }
	}
	if err != nil || json.Unmarshal(answer[:len(answer)-1], &tooLarge) != nil || tooLarge.Error != iface+"MessageTooLarge" ||
		tooLarge.Parameters.Limit <= 0 {
		t.Fatalf("a message too large: %q %v", answer, err)
	}
	record(tooLarge.Error)
	if err := call(c, ctx, iface+"Stop", map[string]string{"name": "dup"}, nil); err != nil {
		t.Fatal(err)
	}
}

// Watch and Logs with "more": replies with "continues".
func TestMoreAndContinues(t *testing.T) {
	c, ctx, d := connect(t)
	w, err := varlink.NewConnection(ctx, "unix:"+d.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	record(iface + "Watch")
	recv, err := w.Send(ctx, iface+"Watch", nil, varlink.More)
	if err != nil {
		t.Fatal(err)
	}
	var first struct{ Backends []backend }
	if flags, err := recv(ctx, &first); err != nil || flags&varlink.Continues == 0 || first.Backends == nil {
		t.Fatalf("Watch's first reply: %+v %v (continues: %v)", first, err, flags&varlink.Continues != 0)
	}
	if err := call(c, ctx, iface+"Start", map[string]interface{}{"name": "talker",
		"command": []string{"/bin/sh", "-c", "echo hello; exec sleep 1000"}}, nil); err != nil {
		t.Fatal(err)
	}
	for {
		var ev struct{ Event map[string]interface{} }
		flags, err := recv(ctx, &ev)
		if err != nil || flags&varlink.Continues == 0 {
			t.Fatalf("Watch: %v (continues: %v)", err, flags&varlink.Continues != 0)
		}
		if ev.Event["backend"] == "talker" && ev.Event["event"] == "started" {
			break
		}
	}
	l, err := varlink.NewConnection(ctx, "unix:"+d.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lrecv, err := l.Send(ctx, iface+"Logs", map[string]interface{}{"name": "talker", "lines": 0}, varlink.More)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for !strings.Contains(got, "hello\n") {
		var chunk struct{ Data string }
		flags, err := lrecv(ctx, &chunk)
		if err != nil || flags&varlink.Continues == 0 {
			t.Fatalf("Logs with more: %q %v (continues: %v)", got, err, flags&varlink.Continues != 0)
		}
		got += chunk.Data
	}
	if err := call(c, ctx, iface+"Stop", map[string]string{"name": "talker"}, nil); err != nil {
		t.Fatal(err)
	}
}

// oneway: the call is made, nothing is answered; the next reply is the next call's.
func TestOneway(t *testing.T) {
	c, ctx, _ := connect(t)
	if _, err := c.Send(ctx, iface+"Start", sleeper("quiet"), varlink.Oneway); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, iface+"Status", map[string]string{"name": "none"}, varlink.Oneway); err != nil {
		t.Fatal(err)
	}
	var b backendReply
	if err := call(c, ctx, iface+"Status", map[string]string{"name": "quiet"}, &b); err != nil || b.Backend.Name != "quiet" {
		t.Fatalf("the call after two oneway ones: %+v %v", b, err)
	}
	if err := call(c, ctx, iface+"Stop", map[string]string{"name": "quiet"}, nil); err != nil {
		t.Fatal(err)
	}
}
