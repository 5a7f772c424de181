// SPDX-License-Identifier: LGPL-2.1-or-later

// Package corral is a client of corrald, corral's supervisor daemon, over its varlink interface
// io.corral.Supervisor (docs/io.corral.Supervisor.varlink), with the standard library only.
//
// The types of the interface (Spec, Backend, each method's parameters and reply, each error) are
// generated from the interface file into interface_generated.go; this package's hand-written
// part is the connection, the typed methods of Client, Event and Verdict.
package corral

//go:generate go run ../internal/gen ../../..
