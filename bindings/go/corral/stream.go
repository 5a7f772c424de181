// SPDX-License-Identifier: LGPL-2.1-or-later

package corral

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"sync"
)

// stream is a call with "more" on a connection of its own: the replies after the first go to a
// channel until the context ends, Close is called or corrald ends the call.
type stream struct {
	conn net.Conn
	stop func() bool
	mu   sync.Mutex
	err  error
	once sync.Once
}

func openStream(ctx context.Context, address, method string, params, first interface{}) (*stream, *bufio.Reader, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", address)
	if err != nil {
		return nil, nil, err
	}
	s := &stream{conn: conn, stop: watchContext(ctx, conn)}
	r := bufio.NewReader(conn)
	if err = send(conn, method, params, true, false); err == nil {
		_, err = receive(r, first)
	}
	if err != nil {
		if s.stop() {
			err = ctx.Err()
		}
		conn.Close()
		return nil, nil, err
	}
	return s, r, nil
}

// run reads the replies into each(raw parameters) until the connection ends.
func (s *stream) run(ctx context.Context, r *bufio.Reader, each func(json.RawMessage) bool) {
	for {
		var p json.RawMessage
		continues, err := receive(r, &p)
		if err == nil && (!each(p) || !continues) {
			break
		}
		if err != nil {
			s.mu.Lock()
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			s.err = err
			s.mu.Unlock()
			break
		}
	}
	s.Close()
}

// Close ends the call (closing its connection).
func (s *stream) Close() error {
	s.once.Do(func() {
		s.stop()
		s.conn.Close()
	})
	return nil
}

// Err is why the stream ended, once its channel is closed: nil after Close, the context's error
// after it ended, else the connection's or corrald's error.
func (s *stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Watcher follows every event of corrald.
type Watcher struct {
	*stream
	// The backends as they were when the watch began.
	Backends []Backend
	// Every event after that; closed when the watch ends (then see Err).
	Events <-chan Event
}

// Watch follows every backend: the first reply lists them as they are, every later one is an
// event. The watch ends when ctx ends or Close is called.
func (c *Client) Watch(ctx context.Context) (*Watcher, error) {
	var first WatchReply
	s, r, err := openStream(ctx, c.address, Interface+".Watch", nil, &first)
	if err != nil {
		return nil, err
	}
	ch := make(chan Event)
	w := &Watcher{stream: s, Backends: first.Backends, Events: ch}
	go func() {
		defer close(ch)
		s.run(ctx, r, func(p json.RawMessage) bool {
			var rep WatchReply
			if json.Unmarshal(p, &rep) != nil || rep.Event == nil {
				return true
			}
			select {
			case ch <- *rep.Event:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	return w, nil
}

// LogFollower follows a backend's output.
type LogFollower struct {
	*stream
	// The last lines asked for, then every later chunk; closed when it ends (then see Err).
	Data <-chan string
}

// FollowLogs gives the last lines of a backend's output, then every later chunk, until ctx ends
// or Close is called.
func (c *Client) FollowLogs(ctx context.Context, name string, lines int) (*LogFollower, error) {
	var first LogsReply
	n := int64(lines)
	s, r, err := openStream(ctx, c.address, Interface+".Logs", LogsParameters{Name: name, Lines: &n}, &first)
	if err != nil {
		return nil, err
	}
	ch := make(chan string, 1)
	ch <- first.Data
	go func() {
		defer close(ch)
		s.run(ctx, r, func(p json.RawMessage) bool {
			var rep LogsReply
			if json.Unmarshal(p, &rep) != nil || rep.Data == "" { // a new launch begins: no output
				return true
			}
			select {
			case ch <- rep.Data:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	return &LogFollower{stream: s, Data: ch}, nil
}
