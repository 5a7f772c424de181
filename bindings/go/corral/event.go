// SPDX-License-Identifier: LGPL-2.1-or-later

package corral

import "encoding/json"

// Level is the level corral logs an event at: debug, info, notice, warning or error.
type Level string

const (
	LevelDebug   Level = "debug"
	LevelInfo    Level = "info"
	LevelNotice  Level = "notice"
	LevelWarning Level = "warning"
	LevelError   Level = "error"
)

// Warning is true for the levels an application should log as a warning (or worse): an exit
// nobody asked for, a crash, an OOM kill, a failed start. A stop that was asked for is info (or
// notice, when the cgroup had to be killed), whatever the exit code.
func (l Level) Warning() bool {
	return l == LevelWarning || l == LevelError
}

// Event is one lifecycle event of a backend, with the fields of corral's log (docs/events.md).
// Fields holds every field as sent, the ones below included.
type Event struct {
	Ts          string  `json:"ts"`
	Level       Level   `json:"level"`
	Event       string  `json:"event"` // started, ready, stopping, restarting, or a verdict: stopped, exited, ...
	Backend     string  `json:"backend"`
	Launch      string  `json:"launch"`
	PID         *int64  `json:"pid"`
	Cgroup      string  `json:"cgroup"`
	Intentional bool    `json:"intentional"`
	How         *string `json:"how"` // exited, killed or dumped
	ExitCode    *int64  `json:"exit_code"`
	Signal      *string `json:"signal"` // SIGTERM, ...
	CoreDumped  bool    `json:"core_dumped"`
	Escalated   bool    `json:"escalated"`
	OOMKilled   bool    `json:"oom_killed"`
	Leftover    int64   `json:"leftover"`
	RuntimeMs   int64   `json:"runtime_ms"`
	Message     string  `json:"message"`
	Stderr      *string `json:"stderr"` // the tail of its stderr: root and corrald's group only

	Fields map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps every field in Fields besides the typed ones.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	return json.Unmarshal(b, &e.Fields)
}

// IsVerdict is true for the events that end a launch (stopped, finished, exited, killed, crashed,
// oom-killed, watchdog, start-failed, ...).
func (e *Event) IsVerdict() bool {
	switch e.Event {
	case "", "started", "ready", "stopping", "restarting", "status", "output":
		return false
	}
	return true
}

// Verdict is how a launch ended, as corral judged it: from the intent (was it asked to stop?),
// not from the exit code.
type Verdict struct {
	Event
	// From Stop: the backend was already gone, this is its last verdict.
	AlreadyStopped bool `json:"-"`
}

// Level is the level corral gives the verdict: log it at info unless Level().Warning().
func (v Verdict) Level() Level {
	return v.Event.Level
}

// UnmarshalJSON reads the verdict's event.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	return v.Event.UnmarshalJSON(b)
}
