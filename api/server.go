// Package api serves SpO₂'s HTTP API and WebSocket stream (docs/api.md),
// /metrics, /healthz and the dashboard files.
//
// Every error answer is a JSON object {"error": "…"} with a fitting status.
// Request bodies are read as JSON whatever their Content-Type says. Reads come
// from the read model; writes go to the supervisor actor, which answers only
// once they are durable. Query strings are strict (an unknown, repeated or
// unparsable parameter is a 400), HEAD is served wherever GET is, and
// redirects are relative so that SpO₂ works under a reverse proxy's sub-path.
package api

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/actors/target"
)

// Limits on what clients may send.
const (
	MaxURLLength = 2048
	MaxDataBytes = 64 << 10
	MaxBulkBytes = 8 << 20
	MaxBulkItems = 10_000
	// MaxDataDepth is how deeply custom data may nest arrays and objects.
	MaxDataDepth = 64
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
	// WSOpeningBacklog is how many events may wait for a WebSocket client
	// while its opening (snapshot or replay) is still being sent; it is at
	// least WSClientQueue. A burst of changes while a big snapshot is sent
	// is not a slow client.
	WSOpeningBacklog int
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
	// Silences, when set, serves /silences.
	Silences *silence.Book
	// Cluster, set in cluster mode, names this member and the live members
	// it sees in /healthz.
	Cluster interface {
		Member() string
		Members() []string
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

	// route registers h for method and path, and for HEAD too when method
	// is GET; known lists the query parameters it accepts.
	route := func(method, path, name string, known []string, h httprouter.Handle) {
		counted := s.instrument(name, s.authorize(path, strictQuery(known, h)))
		r.Handler(method, path, counted)
		if method == http.MethodGet {
			r.Handler(http.MethodHead, path, counted)
		}
	}
	route(http.MethodGet, "/", "get", paramsURL, s.getRoot)
	route(http.MethodPut, "/", "put", paramsPut, s.put)
	route(http.MethodDelete, "/", "delete", paramsURL, s.delete)
	route(http.MethodGet, "/all", "all", paramsAll, s.all)
	route(http.MethodDelete, "/all", "delete_all", paramsAll, s.deleteAll)
	route(http.MethodGet, "/status", "status", paramsURL, s.status)
	route(http.MethodGet, "/history", "history", paramsURL, s.history)
	route(http.MethodPost, "/bulk", "bulk", paramsNone, s.bulk)
	if s.deps.Silences != nil {
		route(http.MethodPost, "/silences", "silences", paramsNone, s.postSilence)
		route(http.MethodGet, "/silences", "silences", paramsNone, s.getSilences)
		route(http.MethodDelete, "/silences/:id", "silence", paramsNone, s.deleteSilence)
	}
	route(http.MethodGet, "/ws", "ws", paramsWS, func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		s.WS.ServeHTTP(w, req)
	})
	// /healthz is a liveness check: an overloaded SpO₂ is alive, and a
	// restart would not make it less loaded, so it answers 200 either way.
	route(http.MethodGet, "/healthz", "healthz", paramsNone, func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		answer := map[string]any{"status": "ok"}
		if s.deps.Overload != nil {
			if ok, since, reason := s.deps.Overload.State(); ok {
				answer = map[string]any{"status": "overloaded", "since": since.UTC().Format(time.RFC3339), "reason": reason}
			}
		}
		if c := s.deps.Cluster; c != nil {
			answer["member"], answer["members"] = c.Member(), c.Members()
		}
		writeJSON(w, http.StatusOK, answer)
	})
	metricsHandler := jsonErrors(promhttp.HandlerFor(s.deps.Metrics.Registry, promhttp.HandlerOpts{}))
	route(http.MethodGet, "/metrics", "metrics", paramsNone, func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		metricsHandler.ServeHTTP(w, req)
	})
	if s.deps.UI != nil {
		ui := jsonErrors(s.deps.UI)
		route(http.MethodGet, "/ui", "ui", paramsNone, func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
			// Relative, like every redirect: behind a reverse proxy on a
			// sub-path the browser resolves it against the path it used.
			w.Header().Set("Location", "ui/")
			w.WriteHeader(http.StatusMovedPermanently)
		})
		route(http.MethodGet, "/ui/*filepath", "ui", paramsNone, func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
			ui.ServeHTTP(w, req)
		})
	}
	profiles := jsonErrors(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		item := strings.TrimPrefix(req.URL.Path, "/debug/pprof")
		if req.Method == http.MethodHead && (item == "/profile" || item == "/trace") {
			// Headers only: no need to record for seconds to send nothing.
			w.Header().Set("Content-Type", "application/octet-stream")
			w.WriteHeader(http.StatusOK)
			return
		}
		switch item {
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
	}))
	route(http.MethodGet, "/debug/pprof/*item", "pprof", paramsProfiles, func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		profiles.ServeHTTP(w, req)
	})
	return limitHeaders(r)
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
		if _, hasURL := r.URL.Query()["url"]; path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !hasURL {
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

// tokenOK checks the bearer token (the scheme matched in any case, as HTTP
// wants), or the token query parameter when allowQuery is set (browsers
// cannot set headers on a WebSocket).
func tokenOK(token string, r *http.Request, allowQuery bool) bool {
	got, ok := bearer(r.Header.Get("Authorization"))
	if !ok && allowQuery {
		got, ok = r.URL.Query().Get("token"), true
	}
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// bearer returns the token of an "Authorization: Bearer <token>" value.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// instrument counts requests in spo2_http_requests_total by route and status
// code (promhttp's instrumentation). A WebSocket upgrade hands the connection
// over before any status goes through the ResponseWriter, so it counts as 200.
// The router hands path parameters over in the request's context.
func (s *Server) instrument(name string, h httprouter.Handle) http.Handler {
	return promhttp.InstrumentHandlerCounter(
		s.deps.Metrics.HTTPRequests.MustCurryWith(prometheus.Labels{"route": name}),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h(w, r, httprouter.ParamsFromContext(r.Context()))
		}))
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
	b, _ := health.MarshalJSON(map[string]string{"error": msg})
	writeRawJSON(w, code, b)
}
