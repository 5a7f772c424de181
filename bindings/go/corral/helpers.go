// SPDX-License-Identifier: LGPL-2.1-or-later

package corral

import "time"

// String, Bool, Int and USec make the pointers of Spec's optional fields.
func String(s string) *string { return &s }
func Bool(b bool) *bool       { return &b }
func Int(i int64) *int64      { return &i }

// USec is a duration as the interface's ...USec fields have it.
func USec(d time.Duration) *int64 { return Int(d.Microseconds()) }
