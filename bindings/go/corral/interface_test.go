// SPDX-License-Identifier: LGPL-2.1-or-later

package corral

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"corral/bindings/go/internal/idlgen"
)

// The top of the repository, from this package's directory.
const top = "../../.."

func read(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join(top, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The generated types are those of the interface files as they are now.
func TestGeneratedTypesMatchTheInterfaceFile(t *testing.T) {
	want, err := idlgen.Generate("corral", read(t, idlgen.SupervisorFile), read(t, idlgen.ServiceFile))
	if err != nil {
		t.Fatalf("%s: %v", idlgen.SupervisorFile, err)
	}
	if !bytes.Equal([]byte(read(t, idlgen.GeneratedFile)), want) {
		t.Fatalf("%s is not what %s declares: run tools/go-generate (a new Start field, method "+
			"or error needs nothing else but a method's wrapper; see bindings/go/README.md)",
			idlgen.GeneratedFile, idlgen.SupervisorFile)
	}
}

// Every method of the interface is a method of Client (the hand-written part).
func TestEveryMethodHasAGoMethod(t *testing.T) {
	it, err := idlgen.Parse(read(t, idlgen.SupervisorFile))
	if err != nil {
		t.Fatal(err)
	}
	client := reflect.TypeOf(&Client{})
	for _, m := range it.Methods {
		if _, ok := client.MethodByName(m.Name); !ok {
			t.Errorf("%s.%s has no Go method: add it to bindings/go/corral/client.go, "+
				"func (c *Client) %s(ctx context.Context, ...) calling c.call(ctx, %q, %sParameters{...}, &%sReply) "+
				"(both structs are generated; see bindings/go/README.md)", it.Name, m.Name, m.Name, m.Name, m.Name, m.Name)
		}
	}
	if len(it.Methods) != len(interfaceMethods) {
		t.Errorf("interface_generated.go lists %d methods, %s declares %d: run tools/go-generate",
			len(interfaceMethods), idlgen.SupervisorFile, len(it.Methods))
	}
}
