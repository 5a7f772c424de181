// SPDX-License-Identifier: LGPL-2.1-or-later

// Command modelloader does what LocalAI's model loader does, on corrald: each "model" is a
// backend (a server on a free port, Ready=tcp), requests are routed to it once it is ready,
// Unload stops it, shutdown unloads them all, and every verdict is logged at the level corral
// gives it (a stop asked for is info whatever the exit code; a model that dies is a warning).
//
//	modelloader [-address SOCKET] [-listen ADDR] MODEL...   load them, route /MODEL/... to each
//	modelloader serve-model NAME PORT                         a stand-in model server (the backend)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"corral/bindings/go/corral"
)

// Loader keeps the models it loaded: each a backend of corrald named model-NAME.
type Loader struct {
	client *corral.Client
	self   string // the command that serves a model
	mu     sync.Mutex
	models map[string]*url.URL
}

func backendName(model string) string { return "model-" + model }

// logEvent logs an event at the level corral gives it.
func logEvent(e corral.Event) {
	prefix := "info"
	if e.Level.Warning() {
		prefix = "WARNING"
	}
	log.Printf("%s: %s %s: %s", prefix, e.Backend, e.Event, e.Message)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Load starts a model and returns once it is ready (its port takes connections).
func (l *Loader) Load(ctx context.Context, model string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	_, err = l.client.Start(ctx, corral.Spec{
		Name:            backendName(model),
		Command:         []string{l.self, "serve-model", model, fmt.Sprint(port)},
		Ready:           corral.String("tcp:" + addr),
		WaitReady:       corral.Bool(true),
		StopTimeoutUSec: corral.USec(10 * time.Second),
	})
	var sf corral.StartFailedParameters
	if errors.Is(err, corral.ErrStartFailed) && err.(*corral.Error).Decode(&sf) == nil && sf.Verdict != nil {
		logEvent(sf.Verdict.Event)
	}
	if err != nil {
		return fmt.Errorf("loading %s: %w", model, err)
	}
	l.mu.Lock()
	l.models[model] = &url.URL{Scheme: "http", Host: addr}
	l.mu.Unlock()
	log.Printf("info: model %s loaded on %s", model, addr)
	return nil
}

// Unload stops a model on purpose and logs its verdict.
func (l *Loader) Unload(ctx context.Context, model string) error {
	l.mu.Lock()
	delete(l.models, model)
	l.mu.Unlock()
	v, err := l.client.Stop(ctx, backendName(model), 0)
	if errors.Is(err, corral.ErrNoSuchBackend) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unloading %s: %w", model, err)
	}
	logEvent(v.Event)
	return l.client.Remove(ctx, backendName(model))
}

// UnloadAll unloads every model this loader loaded (not other programs' backends).
func (l *Loader) UnloadAll(ctx context.Context) error {
	l.mu.Lock()
	var names []string
	for m := range l.models {
		names = append(names, m)
	}
	l.mu.Unlock()
	var errs []string
	for _, m := range names {
		if err := l.Unload(ctx, m); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if errs != nil {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Follow logs the verdicts of our models that nobody asked for, and forgets those models.
func (l *Loader) Follow(ctx context.Context) error {
	w, err := l.client.Watch(ctx)
	if err != nil {
		return err
	}
	go func() {
		for e := range w.Events {
			if !strings.HasPrefix(e.Backend, "model-") || !e.IsVerdict() || e.Intentional {
				continue
			}
			logEvent(e) // a verdict nobody asked for: a warning
			l.mu.Lock()
			delete(l.models, strings.TrimPrefix(e.Backend, "model-"))
			l.mu.Unlock()
		}
	}()
	return nil
}

// ServeHTTP routes /MODEL/... to the model's server, once it is loaded and ready.
func (l *Loader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	model := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
	l.mu.Lock()
	target := l.models[model]
	l.mu.Unlock()
	if target == nil {
		http.Error(w, "model "+model+" is not loaded", http.StatusServiceUnavailable)
		return
	}
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

// serveModel is the stand-in model: it answers every request with its name.
func serveModel(name, port string) error {
	return http.ListenAndServe("127.0.0.1:"+port, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "model %s: %s\n", name, r.URL.Path)
	}))
}

// NewLoader connects to corrald; self is the command that serves a model ("" for this program).
func NewLoader(ctx context.Context, address, self string) (*Loader, error) {
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	c, err := corral.Dial(ctx, address)
	if err != nil {
		return nil, err
	}
	return &Loader{client: c, self: self, models: map[string]*url.URL{}}, nil
}

func run() error {
	if len(os.Args) == 4 && os.Args[1] == "serve-model" {
		return serveModel(os.Args[2], os.Args[3])
	}
	address := flag.String("address", "", "corrald's socket")
	listen := flag.String("listen", "127.0.0.1:8080", "where to serve /MODEL/...")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	l, err := NewLoader(ctx, *address, "")
	if err != nil {
		return err
	}
	if err := l.Follow(ctx); err != nil {
		return err
	}
	for _, m := range flag.Args() {
		if err := l.Load(ctx, m); err != nil {
			log.Printf("WARNING: %v", err)
		}
	}
	srv := &http.Server{Addr: *listen, Handler: l}
	go func() { <-ctx.Done(); srv.Close() }()
	err = srv.ListenAndServe()
	shutdown, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if uerr := l.UnloadAll(shutdown); uerr != nil {
		return uerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}
