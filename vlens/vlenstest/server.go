package vlenstest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Server is a Fake behind a local HTTP server (HTTP/1.1 on 127.0.0.1),
// serving Handler: the Vlens API and the /_sandbox/ admin routes.
type Server struct {
	*Fake
	// URL is the base URL, e.g. "http://127.0.0.1:41234"; use it as the
	// Vlens base URL.
	URL string
	srv *httptest.Server
}

// NewServer starts a fake with opts. Close it when done. It panics when
// opts is invalid (see Options.Validate).
func NewServer(opts Options) *Server {
	f := New(opts)
	srv := httptest.NewServer(f.Handler())
	return &Server{Fake: f, URL: srv.URL, srv: srv}
}

// NewTestServer starts a fake that is closed when the test ends.
func NewTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// Close cuts pending delays short and stops the server, waiting for calls
// in flight.
func (s *Server) Close() {
	s.Fake.Close()
	s.srv.Close()
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }
