// SPDX-License-Identifier: LGPL-2.1-or-later

// Package idlgen turns varlink interface files into the Go types of package corral: a struct per
// type, per method's parameters and reply (Start's parameters are Spec), and an error value per
// error. It is the whole of what ties the Go client to the interface file, so a new field, method
// or error needs no hand-written Go beyond a method's wrapper (see bindings/go/README.md).
package idlgen

import (
	"bytes"
	"fmt"
	"go/format"
	"regexp"
	"sort"
	"strings"
)

// Field is one field of a struct: its varlink name and type as written.
type Field struct {
	Name, Type, Doc string
}

// Method is a method with its parameters and reply fields.
type Method struct {
	Name    string
	In, Out []Field
	Doc     string
}

// Interface is what one interface file declares.
type Interface struct {
	Name    string
	Types   map[string][]Field
	Methods []Method
	Errors  map[string][]Field
	order   []string // type names in the file's order
	errList []string
}

var token = regexp.MustCompile(`\s*(#[^\n]*|->|[(),:]|[A-Za-z0-9_.?\[\]]+)`)

// Parse reads one interface file. Comments before a declaration or a field are kept as its doc.
func Parse(text string) (*Interface, error) {
	p := &parser{}
	for _, m := range token.FindAllStringSubmatch(text, -1) {
		p.toks = append(p.toks, m[1])
	}
	return p.parse()
}

type parser struct {
	toks []string
	pos  int
	doc  []string
}

func (p *parser) next() string {
	p.doc = p.doc[:0]
	for p.pos < len(p.toks) && strings.HasPrefix(p.toks[p.pos], "#") {
		p.doc = append(p.doc, strings.TrimSpace(strings.TrimPrefix(p.toks[p.pos], "#")))
		p.pos++
	}
	if p.pos >= len(p.toks) {
		return ""
	}
	p.pos++
	return p.toks[p.pos-1]
}

func (p *parser) expect(want string) error {
	if got := p.next(); got != want {
		return fmt.Errorf("expected %q, got %q", want, got)
	}
	return nil
}

// fields reads "(a: T, b: ?T)" after its "(".
func (p *parser) fields() ([]Field, error) {
	var fs []Field
	for {
		name := p.next()
		if name == ")" {
			return fs, nil
		}
		doc := strings.Join(p.doc, " ")
		if err := p.expect(":"); err != nil {
			return nil, fmt.Errorf("field %s: %v", name, err)
		}
		typ := p.next()
		fs = append(fs, Field{Name: name, Type: typ, Doc: doc})
		switch sep := p.next(); sep {
		case ",":
		case ")":
			return fs, nil
		default:
			return nil, fmt.Errorf("field %s: unexpected %q", name, sep)
		}
	}
}

func (p *parser) parse() (*Interface, error) {
	it := &Interface{Types: map[string][]Field{}, Errors: map[string][]Field{}}
	for {
		kw := p.next()
		doc := strings.Join(p.doc, " ")
		var err error
		switch kw {
		case "":
			return it, nil
		case "interface":
			it.Name = p.next()
		case "type", "error":
			name := p.next()
			var fs []Field
			if err = p.expect("("); err == nil {
				fs, err = p.fields()
			}
			if kw == "type" {
				it.Types[name], it.order = fs, append(it.order, name)
			} else {
				it.Errors[name], it.errList = fs, append(it.errList, name)
			}
		case "method":
			m := Method{Name: p.next(), Doc: doc}
			if err = p.expect("("); err == nil {
				m.In, err = p.fields()
			}
			if err == nil {
				err = p.expect("->")
			}
			if err == nil {
				err = p.expect("(")
			}
			if err == nil {
				m.Out, err = p.fields()
			}
			it.Methods = append(it.Methods, m)
		default:
			return nil, fmt.Errorf("unexpected %q", kw)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", kw, err)
		}
	}
}

// objects names the Go type of an "object" field by its name: the events corrald sends.
var objects = map[string]string{"verdict": "Verdict", "lastVerdict": "Verdict", "verdicts": "Verdict", "event": "Event"}

// GoName is the exported Go name of a varlink field.
func GoName(name string) string {
	n := strings.ToUpper(name[:1]) + name[1:]
	for _, ini := range []string{"Cpu", "Pid", "Oom", "Url", "Id"} {
		if strings.HasPrefix(n, ini) && (len(n) == len(ini) || !isLower(n[len(ini)])) {
			n = strings.ToUpper(ini) + n[len(ini):]
		}
	}
	return n
}

func isLower(b byte) bool { return b >= 'a' && b <= 'z' }

func goType(f Field) string {
	t, nullable := f.Type, false
	if strings.HasPrefix(t, "?") {
		t, nullable = t[1:], true
	}
	var base string
	switch {
	case strings.HasPrefix(t, "[]"):
		return "[]" + goType(Field{Name: f.Name, Type: t[2:]})
	case strings.HasPrefix(t, "[string]"):
		return "map[string]" + goType(Field{Name: f.Name, Type: t[8:]})
	case t == "string":
		base = "string"
	case t == "int":
		base = "int64"
	case t == "float":
		base = "float64"
	case t == "bool":
		base = "bool"
	case t == "object":
		if o, ok := objects[f.Name]; ok {
			base = o
		} else {
			return "json.RawMessage"
		}
	default:
		base = t // a type of the interface
	}
	if nullable {
		return "*" + base
	}
	return base
}

func writeStruct(b *bytes.Buffer, name, doc string, fs []Field) {
	if doc != "" {
		fmt.Fprintf(b, "// %s: %s\n", name, doc)
	}
	fmt.Fprintf(b, "type %s struct {\n", name)
	for _, f := range fs {
		if f.Doc != "" {
			fmt.Fprintf(b, "\t// %s\n", f.Doc)
		}
		omit := ""
		if strings.HasPrefix(f.Type, "?") {
			omit = ",omitempty"
		}
		fmt.Fprintf(b, "\t%s %s `json:\"%s%s\"`\n", GoName(f.Name), goType(f), f.Name, omit)
	}
	b.WriteString("}\n\n")
}

// Generate writes the Go source of package pkg for the interface files' texts: the first is
// the one the client serves (its methods' types), the others give only their errors.
func Generate(pkg string, texts ...string) ([]byte, error) {
	var b bytes.Buffer
	var ifaces []*Interface
	for _, t := range texts {
		it, err := Parse(t)
		if err != nil {
			return nil, err
		}
		ifaces = append(ifaces, it)
	}
	main := ifaces[0]
	fmt.Fprintf(&b, "// Code generated by bindings/go/internal/gen from the interface files; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package %s\n\nimport \"encoding/json\"\n\nvar _ json.RawMessage\n\n", pkg)
	fmt.Fprintf(&b, "// Interface is the name of the varlink interface corrald serves.\nconst Interface = %q\n\n", main.Name)
	for _, name := range main.order {
		writeStruct(&b, name, "", main.Types[name])
	}
	b.WriteString("// interfaceMethods are the methods the interface file declares, in its order.\nvar interfaceMethods = []string{")
	for _, m := range main.Methods {
		fmt.Fprintf(&b, "%q, ", m.Name)
	}
	b.WriteString("}\n\n")
	for _, m := range allMethods(ifaces) {
		in := m.Name + "Parameters"
		if m.Name == "Start" {
			in = "Spec"
		}
		writeStruct(&b, in, "the parameters of "+m.Name+".", m.In)
		writeStruct(&b, m.Name+"Reply", "the reply of "+m.Name+".", m.Out)
	}
	b.WriteString("// Errors of the interfaces: errors.Is(err, ErrX) matches any *Error of that name.\nvar (\n")
	for _, it := range ifaces {
		names := append([]string(nil), it.errList...)
		sort.Strings(names)
		for _, e := range names {
			fmt.Fprintf(&b, "\tErr%s = &Error{Name: %q}\n", e, it.Name+"."+e)
		}
	}
	b.WriteString(")\n\n")
	for _, it := range ifaces {
		for _, e := range it.errList {
			writeStruct(&b, e+"Parameters", "the parameters of the error "+it.Name+"."+e+" (Error.Decode).", it.Errors[e])
		}
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("generated code does not parse: %v\n%s", err, b.String())
	}
	return out, nil
}

// The files, relative to the top of the repository.
const (
	SupervisorFile = "docs/io.corral.Supervisor.varlink"
	ServiceFile    = "src/shared/org.varlink.service.varlink"
	GeneratedFile  = "bindings/go/corral/interface_generated.go"
)

func allMethods(ifaces []*Interface) []Method {
	var ms []Method
	for _, it := range ifaces {
		ms = append(ms, it.Methods...)
	}
	return ms
}
