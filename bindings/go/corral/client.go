// SPDX-License-Identifier: LGPL-2.1-or-later

package corral

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultAddress is where corrald listens unless told otherwise ($CORRAL_ADDRESS overrides it).
const DefaultAddress = "/run/corral/io.corral.Supervisor"

// ErrClosed is returned by the calls of a closed Client.
var ErrClosed = errors.New("corral: client closed")

// Client is a connection to corrald. Its calls may be made from several goroutines: they go out
// one at a time. A call whose context ends closes the connection (the only way to abandon a
// varlink call); the next call dials again. Watch and FollowLogs use connections of their own.
type Client struct {
	address string
	mu      sync.Mutex
	conn    net.Conn
	r       *bufio.Reader
	closed  bool
}

// Dial connects to corrald at address ("" for $CORRAL_ADDRESS, else DefaultAddress).
func Dial(ctx context.Context, address string) (*Client, error) {
	if address == "" {
		address = os.Getenv("CORRAL_ADDRESS")
	}
	if address == "" {
		address = DefaultAddress
	}
	c := &Client{address: address}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.drop()
}

func (c *Client) connect(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.address)
	if err != nil {
		return fmt.Errorf("corral: connecting to corrald at %s: %w", c.address, err)
	}
	c.conn, c.r = conn, bufio.NewReader(conn)
	return nil
}

func (c *Client) drop() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.r = nil, nil
	return err
}

type call struct {
	Method     string      `json:"method"`
	Parameters interface{} `json:"parameters,omitempty"`
	More       bool        `json:"more,omitempty"`
	Oneway     bool        `json:"oneway,omitempty"`
}

type reply struct {
	Parameters json.RawMessage `json:"parameters"`
	Continues  bool            `json:"continues"`
	Error      string          `json:"error"`
}

// watchContext closes conn when ctx ends before the returned stop is called; stop reports
// whether it did.
func watchContext(ctx context.Context, conn net.Conn) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return false }
	}
	done, cut := make(chan struct{}), make(chan bool, 1)
	go func() {
		select {
		case <-ctx.Done():
			conn.Close()
			cut <- true
		case <-done:
			cut <- false
		}
	}()
	return func() bool { close(done); return <-cut }
}

func send(conn net.Conn, method string, params interface{}, more, oneway bool) error {
	b, err := json.Marshal(call{Method: method, Parameters: params, More: more, Oneway: oneway})
	if err != nil {
		return err
	}
	_, err = conn.Write(append(b, 0))
	return err
}

func receive(r *bufio.Reader, out interface{}) (continues bool, err error) {
	line, err := r.ReadBytes(0)
	if err != nil {
		return false, err
	}
	var m reply
	if err := json.Unmarshal(line[:len(line)-1], &m); err != nil {
		return false, fmt.Errorf("corral: malformed reply: %w", err)
	}
	if m.Error != "" {
		return false, &Error{Name: m.Error, Parameters: m.Parameters}
	}
	if out != nil && len(m.Parameters) > 0 {
		if err := json.Unmarshal(m.Parameters, out); err != nil {
			return false, fmt.Errorf("corral: reply does not fit %T: %w", out, err)
		}
	}
	return m.Continues, nil
}

// Call calls method (a full name, such as "io.corral.Supervisor.List") with params (nil for
// none) and reads its reply's parameters into out (nil to ignore them). The typed methods use it;
// it is there for what they do not cover.
func (c *Client) Call(ctx context.Context, method string, params, out interface{}) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.conn == nil {
		if err := c.connect(ctx); err != nil {
			return err
		}
	}
	stop := watchContext(ctx, c.conn)
	err := send(c.conn, method, params, false, false)
	if err == nil {
		_, err = receive(c.r, out)
	}
	if stop() {
		c.drop()
		return ctx.Err()
	}
	var verr *Error
	if err != nil && !errors.As(err, &verr) {
		c.drop() // the connection is in an unknown state
		return fmt.Errorf("corral: %s: %w", method, err)
	}
	return err
}

func (c *Client) call(ctx context.Context, method string, params, out interface{}) error {
	return c.Call(ctx, Interface+"."+method, params, out)
}

// Start starts a backend as spec says (Spec.WaitReady: answer once it is ready).
func (c *Client) Start(ctx context.Context, spec Spec) (*Backend, error) {
	var r StartReply
	if err := c.call(ctx, "Start", spec, &r); err != nil {
		return nil, err
	}
	return &r.Backend, nil
}

func usec(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	u := d.Microseconds()
	return &u
}

// Stop stops a backend on purpose, waits until it is gone and returns its verdict; its level is
// info for a stop, whatever the exit code. timeout (0: the backend's own) is its grace period.
// A backend already gone gives its last verdict with AlreadyStopped.
func (c *Client) Stop(ctx context.Context, name string, timeout time.Duration) (*Verdict, error) {
	var r StopReply
	if err := c.call(ctx, "Stop", StopParameters{Name: name, TimeoutUSec: usec(timeout)}, &r); err != nil {
		return nil, err
	}
	v := &Verdict{AlreadyStopped: r.AlreadyStopped}
	if r.Verdict != nil {
		v.Event = r.Verdict.Event
	}
	return v, nil
}

// Kill sends signal ("" for SIGTERM; "SIGHUP", "HUP" or a number) to a backend's main process,
// or with all to every process of its cgroup; it returns how many were signalled. A Kill is not a
// Stop: an end that follows is a warning (its verdict names the signal and who sent it).
func (c *Client) Kill(ctx context.Context, name, signal string, all bool) (int, error) {
	p := KillParameters{Name: name}
	if signal != "" {
		p.Signal = &signal
	}
	if all {
		p.Whom = String("all")
	}
	var r KillReply
	err := c.call(ctx, "Kill", p, &r)
	return int(r.Processes), err
}

// StopAll stops every backend at once under one deadline and returns their verdicts.
func (c *Client) StopAll(ctx context.Context, timeout time.Duration) ([]Verdict, error) {
	var r StopAllReply
	err := c.call(ctx, "StopAll", StopAllParameters{TimeoutUSec: usec(timeout)}, &r)
	return r.Verdicts, err
}

// Restart stops a backend (if it runs) and starts it again with the same definition; with
// waitReady, it answers once the new launch is ready.
func (c *Client) Restart(ctx context.Context, name string, waitReady bool) (*Backend, error) {
	var r RestartReply
	if err := c.call(ctx, "Restart", RestartParameters{Name: name, WaitReady: &waitReady}, &r); err != nil {
		return nil, err
	}
	return &r.Backend, nil
}

// ResetFailed makes a failed backend gone again.
func (c *Client) ResetFailed(ctx context.Context, name string) (*Backend, error) {
	var r ResetFailedReply
	if err := c.call(ctx, "ResetFailed", ResetFailedParameters{Name: name}, &r); err != nil {
		return nil, err
	}
	return &r.Backend, nil
}

// Remove forgets a backend that is gone.
func (c *Client) Remove(ctx context.Context, name string) error {
	return c.call(ctx, "Remove", RemoveParameters{Name: name}, nil)
}

// List lists the backends.
func (c *Client) List(ctx context.Context) ([]Backend, error) {
	var r ListReply
	err := c.call(ctx, "List", nil, &r)
	return r.Backends, err
}

// Status is one backend, with its memory and CPU use.
func (c *Client) Status(ctx context.Context, name string) (*Backend, error) {
	var r StatusReply
	if err := c.call(ctx, "Status", StatusParameters{Name: name}, &r); err != nil {
		return nil, err
	}
	return &r.Backend, nil
}

// Logs is the last lines (0: all that is kept) of a backend's output.
func (c *Client) Logs(ctx context.Context, name string, lines int) (string, error) {
	var r LogsReply
	n := int64(lines)
	err := c.call(ctx, "Logs", LogsParameters{Name: name, Lines: &n}, &r)
	return r.Data, err
}

// Metrics is corrald's metrics in Prometheus' text format (OpenMetrics with openMetrics).
func (c *Client) Metrics(ctx context.Context, openMetrics bool) (string, error) {
	var r MetricsReply
	err := c.call(ctx, "Metrics", MetricsParameters{OpenMetrics: &openMetrics}, &r)
	return r.Text, err
}

// ReloadBackend reloads each backend named as its definition says (ExecReload=, else
// ReloadSignal=; with Ready=notify, systemd's notify-reload) and answers once every reload has
// ended: one object each, in the order named, {name, result ("ok", "failed", "timed-out"),
// message}. Errors: NoSuchBackend, BackendNotRunning, ReloadNotSupported (nothing is reloaded then).
func (c *Client) ReloadBackend(ctx context.Context, names ...string) (*ReloadBackendReply, error) {
	var r ReloadBackendReply
	if err := c.call(ctx, "ReloadBackend", ReloadBackendParameters{Names: names}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DaemonReload has corrald read its definition files again and apply what changed (as SIGHUP).
func (c *Client) DaemonReload(ctx context.Context) (*DaemonReloadReply, error) {
	var r DaemonReloadReply
	if err := c.call(ctx, "DaemonReload", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Reload is DaemonReload by the name it had before 0.2 (kept for a release).
func (c *Client) Reload(ctx context.Context) (*ReloadReply, error) {
	var r ReloadReply
	if err := c.call(ctx, "Reload", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetInfo is org.varlink.service.GetInfo.
func (c *Client) GetInfo(ctx context.Context) (*GetInfoReply, error) {
	var r GetInfoReply
	if err := c.Call(ctx, "org.varlink.service.GetInfo", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
