// SPDX-License-Identifier: LGPL-2.1-or-later

package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/varlink/go/varlink"

	"corral/bindings/go/corraltest"
)

const nobody = 65534 // nobody, in group nogroup

// The helper: run as another user by callAs, it makes one call and prints its error.
func TestUnprivilegedHelper(t *testing.T) {
	method := os.Getenv("CORRAL_HELPER_METHOD")
	if method == "" {
		t.Skip("only run by callAs")
	}
	ctx := context.Background()
	c, err := varlink.NewConnection(ctx, "unix:"+os.Getenv("CORRAL_HELPER_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	var params map[string]interface{}
	json.Unmarshal([]byte(os.Getenv("CORRAL_HELPER_PARAMS")), &params)
	err = call(c, ctx, method, params, nil)
	out := map[string]interface{}{"error": ""}
	var e *varlink.Error
	if errors.As(err, &e) {
		out["error"] = e.Name
		if raw, ok := e.Parameters.(*json.RawMessage); ok && raw != nil {
			out["parameters"] = raw
		}
	} else if err != nil {
		out["error"] = fmt.Sprintf("%T %v", err, err)
	}
	b, _ := json.Marshal(out)
	fmt.Printf("RESULT %s\n", b)
}

// callAs makes a call to d as uid/gid (a copy of this test binary run as that user) and returns
// the name of the error it got ("" for none) and its parameters.
func callAs(t *testing.T, d *corraltest.Daemon, uid, gid uint32, method string, params interface{}) (string, map[string]string) {
	t.Helper()
	// The user must reach the socket and the binary: the test's directories are opened to all.
	for _, dir := range []string{filepath.Dir(d.Dir), d.Dir} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self := filepath.Join(d.Dir, "conformance.test")
	if _, err := os.Stat(self); err != nil {
		src, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.OpenFile(self, os.O_CREATE|os.O_WRONLY, 0o755)
		if err == nil {
			_, err = io.Copy(dst, src)
			dst.Close()
		}
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	p, _ := json.Marshal(params)
	cmd := exec.Command(self, "-test.run=^TestUnprivilegedHelper$", "-test.v")
	cmd.Env = []string{"CORRAL_HELPER_METHOD=" + method, "CORRAL_HELPER_PARAMS=" + string(p),
		"CORRAL_HELPER_ADDRESS=" + d.Address, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{gid}}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	i := strings.Index(string(out), "RESULT ")
	if err != nil || i < 0 {
		t.Fatalf("the helper as uid %d: %v\n%s", uid, err, out)
	}
	var r struct {
		Error      string            `json:"error"`
		Parameters map[string]string `json:"parameters"`
	}
	line := strings.SplitN(string(out[i+len("RESULT "):]), "\n", 2)[0]
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("the helper said %q: %v", line, err)
	}
	return r.Error, r.Parameters
}

// PermissionDenied: a caller who is neither root nor in corrald's group may not Stop.
func TestPermissionDenied(t *testing.T) {
	d := corraltest.Start(t)
	name, _ := callAs(t, d, nobody, nobody, iface+"Stop", map[string]string{"name": "x"})
	if name != "org.varlink.service.PermissionDenied" {
		t.Fatalf("Stop from nobody: %q", name)
	}
	if name, _ = callAs(t, d, nobody, nobody, iface+"List", nil); name != "" {
		t.Fatalf("List from nobody: %q", name)
	}
}

// NotPermitted: a member of corrald's group may Start, but not as another user.
func TestNotPermitted(t *testing.T) {
	d := corraltest.Start(t, "--allow-group", "nogroup")
	name, p := callAs(t, d, nobody, nobody, iface+"Start", map[string]interface{}{"name": "x",
		"command": []string{"/bin/true"}, "user": "root"})
	if name != iface+"NotPermitted" || p["parameter"] != "user" || p["message"] == "" {
		t.Fatalf("Start as root from a member: %q %v", name, p)
	}
	record(name)
}

// BackendDeclared: a name a definition file declares is not Started over varlink.
// BackendNotRunning: Kill of a backend without a process.
func TestDeclaredAndNotRunning(t *testing.T) {
	defs := t.TempDir()
	if err := os.WriteFile(filepath.Join(defs, "decl.backend"), []byte("[Backend]\nExecStart=/bin/sleep 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := corraltest.Start(t, "--definitions", defs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*corraltest.Deadline)
	defer cancel()
	c, err := varlink.NewConnection(ctx, "unix:"+d.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := call(c, ctx, iface+"Stop", map[string]string{"name": "decl"}, nil); err != nil {
		t.Fatal(err)
	}
	wantError(t, "Start of a declared name", call(c, ctx, iface+"Start", sleeper("decl"), nil),
		iface+"BackendDeclared", "definition", filepath.Join(defs, "decl.backend"))
	if err := call(c, ctx, iface+"Start", sleeper("gone"), nil); err != nil {
		t.Fatal(err)
	}
	if err := call(c, ctx, iface+"Stop", map[string]string{"name": "gone"}, nil); err != nil {
		t.Fatal(err)
	}
	wantError(t, "Kill of one gone", call(c, ctx, iface+"Kill", map[string]string{"name": "gone"}, nil),
		iface+"BackendNotRunning", "state", "gone")
	if err := call(c, ctx, iface+"StopAll", nil, nil); err != nil {
		t.Fatal(err)
	}
}
