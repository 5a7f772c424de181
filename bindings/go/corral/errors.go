// SPDX-License-Identifier: LGPL-2.1-or-later

package corral

import (
	"encoding/json"
	"fmt"
)

// Error is a varlink error corrald answered with: its name and its parameters.
// errors.Is(err, ErrNoSuchBackend) is true for any *Error of that name, whatever its parameters;
// Decode reads them into the error's Parameters struct (NoSuchBackendParameters, ...).
type Error struct {
	Name       string
	Parameters json.RawMessage
}

func (e *Error) Error() string {
	if len(e.Parameters) == 0 || string(e.Parameters) == "{}" {
		return e.Name
	}
	return fmt.Sprintf("%s %s", e.Name, e.Parameters)
}

// Is matches errors of the same name.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Name == e.Name
}

// Decode reads the error's parameters into v, such as a *NoSuchBackendParameters.
func (e *Error) Decode(v interface{}) error {
	if len(e.Parameters) == 0 {
		return nil
	}
	return json.Unmarshal(e.Parameters, v)
}
