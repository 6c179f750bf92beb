// Package api serves SpO₂'s HTTP API (SPEC §3), its WebSocket stream (§4),
// /metrics, /healthz and the dashboard files.
//
// Every error answer is a JSON object {"error": "…"} with a fitting status.
// Request bodies are read as JSON whatever their Content-Type says. Reads come
// from the read model; writes go to the supervisor actor, which answers only
// once they are durable.
package api

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/target"
)

// Limits on what clients may send.
const (
	MaxURLLength = 2048
	MaxDataBytes = 64 << 10
	MaxBulkBytes = 8 << 20
	MaxBulkItems = 10_000
)

// Config tunes the API.
type Config struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on every
	// route but /healthz (the WebSocket also accepts ?token=).
	Token string
	// WSPingInterval is how often idle WebSocket clients are pinged; a client
	// that sends nothing (not even a pong) for two intervals is dropped.
	WSPingInterval time.Duration
	// WSClientQueue is how many events may wait for one WebSocket client
	// before it is cut as too slow.
	WSClientQueue int
	// Targets, when set, limits the URLs that may be registered.
	Targets *target.Policy
}

// Deps are the parts of SpO₂ the API talks to.
type Deps struct {
	Root        *actor.RootContext
	Supervisor  *actor.PID
	Broadcaster *actor.PID
	Model       *readmodel.Model
	Metrics     *metrics.Metrics
	Log         *slog.Logger
	// UI serves the dashboard files under /ui/.
	UI http.Handler
	// Overload, when set, tells /healthz whether SpO₂ is overloaded.
	Overload interface {
		State() (overloaded bool, since time.Time, reason string)
	}
}

// Server holds the HTTP handlers. Create it with New.
type Server struct {
	cfg  Config
	deps Deps
	WS   *WSServer
}

// New returns a server for the given configuration and dependencies.
func New(cfg Config, deps Deps) *Server {
	s := &Server{cfg: cfg, deps: deps}
	s.WS = newWSServer(cfg, deps)
	return s
}

// Handler returns the router of the HTTP listener.
func (s *Server) Handler() http.Handler {
	r := httprouter.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.HandleOPTIONS = false
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, "no route "+req.Method+" "+req.URL.Path)
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method "+req.Method+" is not allowed on "+req.URL.Path)
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		s.deps.Log.Error("handler panicked", "method", req.Method, "path", req.URL.Path, "panic", v)
		writeError(w, http.StatusInternalServerError, "internal error")
	}

	route := func(method, path, name string, h httprouter.Handle) {
		r.Handle(method, path, s.instrument(name, s.authorize(path, h)))
	}
	route(http.MethodGet, "/", "get", s.getRoot)
	route(http.MethodPut, "/", "put", s.put)
	route(http.MethodDelete, "/", "delete", s.delete)
	route(http.MethodGet, "/all", "all", s.all)
	route(http.MethodGet, "/status", "status", s.status)
	route(http.MethodPost, "/bulk", "bulk", s.bulk)
	route(http.MethodGet, "/ws", "ws", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		s.WS.ServeHTTP(w, req)
	})
	// /healthz is a liveness check: an overloaded SpO₂ is alive, and a
	// restart would not make it less loaded, so it answers 200 either way.
	route(http.MethodGet, "/healthz", "healthz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		if s.deps.Overload != nil {
			if ok, since, reason := s.deps.Overload.State(); ok {
				writeJSON(w, http.StatusOK, map[string]string{"status": "overloaded", "since": since.UTC().Format(time.RFC3339), "reason": reason})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	metricsHandler := promhttp.HandlerFor(s.deps.Metrics.Registry, promhttp.HandlerOpts{})
	route(http.MethodGet, "/metrics", "metrics", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		metricsHandler.ServeHTTP(w, req)
	})
	if s.deps.UI != nil {
		route(http.MethodGet, "/ui/*filepath", "ui", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
			s.deps.UI.ServeHTTP(w, req)
		})
	}
	route(http.MethodGet, "/debug/pprof/*item", "pprof", func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		switch p.ByName("item") {
		case "/cmdline":
			pprof.Cmdline(w, req)
		case "/profile":
			pprof.Profile(w, req)
		case "/symbol":
			pprof.Symbol(w, req)
		case "/trace":
			pprof.Trace(w, req)
		default:
			pprof.Index(w, req)
		}
	})
	return r
}

// authorize enforces the API token on every route but /healthz and the
// dashboard's files (GET / without url, /ui/): a browser cannot add a header
// to a page load, the files hold no data, and the data they show comes
// through /ws, which wants the token.
func (s *Server) authorize(path string, h httprouter.Handle) httprouter.Handle {
	if s.cfg.Token == "" || path == "/healthz" || path == "/ui/*filepath" {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if _, hasURL := r.URL.Query()["url"]; path == "/" && r.Method == http.MethodGet && !hasURL {
			h(w, r, p) // the dashboard redirect
			return
		}
		if !tokenOK(s.cfg.Token, r, path == "/ws") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="spo2"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong API token: send Authorization: Bearer <token>")
			return
		}
		h(w, r, p)
	}
}

// tokenOK checks the bearer token, or the token query parameter when
// allowQuery is set (browsers cannot set headers on a WebSocket).
func tokenOK(token string, r *http.Request, allowQuery bool) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && allowQuery {
		got, ok = r.URL.Query().Get("token"), true
	}
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// instrument counts requests by route and status code.
func (s *Server) instrument(name string, h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h(rec, r, p)
		s.deps.Metrics.HTTPRequests.WithLabelValues(name, strconv.Itoa(rec.code)).Inc()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade) reach the
// underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack passes the connection on for the WebSocket upgrade.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.code = http.StatusSwitchingProtocols
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := health.MarshalJSON(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer failed")
		return
	}
	writeRawJSON(w, code, b)
}

func writeRawJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeRawJSON(w, code, b)
}
