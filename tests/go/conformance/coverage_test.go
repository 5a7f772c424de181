// SPDX-License-Identifier: LGPL-2.1-or-later

package conformance

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/varlink/go/varlink"
)

// Errors no test here can provoke, and why.
var notProvoked = map[string]string{
	"ShuttingDown": "only while corrald stops, between SIGTERM and its exit",
	"OutOfMemory":  "only when corrald's allocations fail",
}

var (
	mu      sync.Mutex
	covered = map[string]bool{} // methods called and errors seen, by full name
)

func record(name string) {
	mu.Lock()
	covered[name] = true
	mu.Unlock()
}

// call is c.Call, recording the method as covered.
func call(c *varlink.Connection, ctx context.Context, method string, in, out interface{}) error {
	record(method)
	return c.Call(ctx, method, in, out)
}

// After a whole run: every method and every error of the interface file was exercised, so that a
// new one cannot go untested against the reference implementation.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || os.Getenv("CORRAL_DAEMON_BIN") == "" || os.Geteuid() != 0 {
		os.Exit(code)
	}
	text, err := os.ReadFile("../../../docs/io.corral.Supervisor.varlink")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	var missing []string
	for _, m := range regexp.MustCompile(`(?m)^(method|error) (\w+)`).FindAllStringSubmatch(string(text), -1) {
		if _, ok := notProvoked[m[2]]; !covered[iface+m[2]] && !(m[1] == "error" && ok) {
			missing = append(missing, fmt.Sprintf("%s %s%s is not exercised by the conformance test: "+
				"add a call to it in tests/go/conformance (for an error: one that provokes it, checked with "+
				"wantError; or, if no test can, an entry in notProvoked saying why)", m[1], iface, m[2]))
		}
	}
	sort.Strings(missing)
	if missing != nil {
		fmt.Println(strings.Join(missing, "\n"))
		os.Exit(1)
	}
	os.Exit(code)
}
