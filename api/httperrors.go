package api

import (
	"fmt"
	"net/http"
	"strings"
)

// MaxHeaderBytes bounds a request's line and headers. A request over it gets
// a JSON 431. The http.Server in front should allow more (main allows
// 1 MiB): past the server's own limit Go answers 431 itself, in plain text.
const MaxHeaderBytes = 64 << 10

// limitHeaders answers a JSON 431 to a request whose line and headers are
// larger than MaxHeaderBytes, before h sees it.
func limitHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !headersFit(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// headersFit answers 431 and returns false when r's line and headers are
// over MaxHeaderBytes, counted as they travelled.
func headersFit(w http.ResponseWriter, r *http.Request) bool {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	if n <= MaxHeaderBytes {
		return true
	}
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestHeaderFieldsTooLarge,
		fmt.Sprintf("request line and headers are %d bytes; the limit is %d", n, MaxHeaderBytes))
	return false
}

// jsonErrors makes the error answers of a handler that answers errors in
// plain text (the file server, promhttp, pprof) JSON like every other.
func jsonErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jw := &jsonErrorWriter{ResponseWriter: w, path: r.URL.Path}
		h.ServeHTTP(jw, r)
		jw.finish()
	})
}

// jsonErrorWriter holds back a non-JSON error answer (status 400 and up) and
// writes it as {"error": "…"} in finish, with the text the handler wrote as
// the message.
type jsonErrorWriter struct {
	http.ResponseWriter
	path string
	code int // the held-back error status; 0 while none
	msg  strings.Builder
}

func (w *jsonErrorWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		w.code = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *jsonErrorWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		return w.ResponseWriter.Write(p)
	}
	if w.msg.Len() < 1024 {
		w.msg.Write(p)
	}
	return len(p), nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *jsonErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *jsonErrorWriter) finish() {
	if w.code == 0 {
		return
	}
	msg := strings.TrimSpace(w.msg.String())
	switch {
	case w.code == http.StatusNotFound:
		msg = "not found: " + w.path
	case msg == "":
		msg = http.StatusText(w.code)
	}
	w.Header().Del("Content-Length")
	writeError(w.ResponseWriter, w.code, msg)
}
