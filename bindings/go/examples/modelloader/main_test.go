// SPDX-License-Identifier: LGPL-2.1-or-later

package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"corral/bindings/go/corraltest"
)

// The test binary is the model server too.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "serve-model" {
		if err := serveModel(os.Args[2], os.Args[3]); err != nil {
			log.Fatal(err)
		}
	}
	os.Exit(m.Run())
}

func get(t *testing.T, url string) (int, string) {
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

func TestLoadRouteUnload(t *testing.T) {
	d := corraltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*corraltest.Deadline)
	defer cancel()
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	l, err := NewLoader(ctx, d.Address, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l)
	defer srv.Close()
	for _, m := range []string{"llama", "whisper"} {
		if err := l.Load(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := get(t, srv.URL+"/llama/v1/chat"); code != 200 || body != "model llama: /llama/v1/chat\n" {
		t.Fatalf("routed to llama: %d %q", code, body)
	}
	if err := l.Unload(ctx, "llama"); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, srv.URL+"/llama/x"); code != 503 {
		t.Fatalf("an unloaded model: %d", code)
	}
	if code, body := get(t, srv.URL+"/whisper/x"); code != 200 || !strings.HasPrefix(body, "model whisper") {
		t.Fatalf("routed to whisper: %d %q", code, body)
	}
	if err := l.UnloadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if list, err := l.client.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after UnloadAll: %+v %v", list, err)
	}
	out := logged.String()
	for _, want := range []string{"info: model-llama stopped", "info: model-whisper stopped"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the log has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING") {
		t.Fatalf("an unload logged a warning:\n%s", out)
	}
}
