// SPDX-License-Identifier: LGPL-2.1-or-later

// Command gen writes bindings/go/corral/interface_generated.go from the interface files:
//
//	go run ./internal/gen     (in bindings/go; tools/go-generate does it from anywhere)
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"corral/bindings/go/internal/idlgen"
)

func main() {
	top := "../.."
	if len(os.Args) > 1 {
		top = os.Args[1]
	}
	out, err := idlgen.Generate("corral", read(top, idlgen.SupervisorFile), read(top, idlgen.ServiceFile))
	if err == nil {
		err = os.WriteFile(filepath.Join(top, idlgen.GeneratedFile), out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func read(top, name string) string {
	b, err := os.ReadFile(filepath.Join(top, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	return string(b)
}
