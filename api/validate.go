package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spo2/spo2/actors/health"
)

// badRequest is a client error with its HTTP status.
type badRequest struct {
	code int
	msg  string
}

func (e *badRequest) Error() string { return e.msg }

func invalid(format string, a ...any) *badRequest {
	return &badRequest{code: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// watchedURL returns the url query parameter after checking it.
func watchedURL(r *http.Request) (string, *badRequest) {
	values, ok := r.URL.Query()["url"]
	if !ok {
		return "", invalid("missing url query parameter (send ?url=<url-encoded URL>)")
	}
	if len(values) != 1 {
		return "", invalid("give the url query parameter once, not %d times", len(values))
	}
	if err := checkURL(values[0]); err != nil {
		return "", invalid("%s", err)
	}
	return values[0], nil
}

// checkURL accepts absolute http and https URLs with a host, at most
// MaxURLLength bytes long.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("url is empty")
	}
	if len(raw) > MaxURLLength {
		return fmt.Errorf("url is %d bytes long; the limit is %d", len(raw), MaxURLLength)
	}
	if !utf8.ValidString(raw) {
		return errors.New("url is not valid UTF-8")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url is not a valid URL: %v", err)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return fmt.Errorf("url %q must be an absolute http:// or https:// URL", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url %q has no host", raw)
	}
	if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("url %q has an empty port (drop the colon or give a port)", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("url %q has an invalid port %q", raw, p)
		}
	}
	return nil
}

// allowed refuses a URL to register whose host ALLOWED_TARGETS does not
// allow, naming the rules.
func (s *Server) allowed(raw string) *badRequest {
	if err := s.cfg.Targets.CheckURL(raw); err != nil {
		return invalid("%s", err)
	}
	return nil
}

// readData reads a body of at most MaxDataBytes as one JSON value, whatever
// the Content-Type, and returns it compacted. An empty body (or only white
// space) returns nil: no data given.
func readData(w http.ResponseWriter, r *http.Request) (json.RawMessage, *badRequest) {
	body, berr := readBody(w, r, MaxDataBytes)
	if berr != nil {
		return nil, berr
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	return compactJSON(body)
}

// presize is how much of a request's announced Content-Length readBody
// allocates before the bytes arrive.
const presize = 1 << 20

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *badRequest) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= limit {
		// One allocation, and room to see the end; a claimed length is
		// trusted up to presize only, so a client that announces much and
		// sends little does not make the server hold much.
		buf.Grow(int(min(n, presize)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	body := buf.Bytes()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &badRequest{code: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("body is larger than %d bytes", limit)}
		}
		return nil, invalid("reading body: %v", err)
	}
	return body, nil
}

func compactJSON(b []byte) (json.RawMessage, *badRequest) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return json.RawMessage("null"), nil
	}
	if !utf8.Valid(b) {
		return nil, invalid("body is not valid UTF-8, so not valid JSON")
	}
	if deeper(b, MaxDataDepth) {
		return nil, invalid("data is nested more than %d levels deep (arrays and objects); the limit is %d", MaxDataDepth, MaxDataDepth)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, invalid("body is not valid JSON: %v", err)
	}
	return json.RawMessage(buf.Bytes()), nil
}

// deeper reports whether the JSON text b nests arrays and objects more than
// limit levels deep. Brackets inside strings do not count.
func deeper(b []byte, limit int) bool {
	depth := 0
	var sc jsonStrings
	for _, c := range b {
		if sc.step(c) {
			continue
		}
		switch c {
		case '[', '{':
			if depth++; depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// settingsFromQuery reads optional per-URL settings from the query string.
func settingsFromQuery(q url.Values) (health.Overrides, *badRequest) {
	var o health.Overrides
	get := func(name string) (string, bool) {
		v, ok := q[name]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	var err error
	if v, ok := get("interval"); ok {
		if o.Interval, err = parseDuration("interval", v); err != nil {
			return o, invalid("%s", err)
		}
	}
	if v, ok := get("timeout"); ok {
		if o.Timeout, err = parseDuration("timeout", v); err != nil {
			return o, invalid("%s", err)
		}
	}
	if v, ok := get("failure_threshold"); ok {
		if o.FailureThreshold, err = parseThreshold("failure_threshold", v); err != nil {
			return o, invalid("%s", err)
		}
	}
	if v, ok := get("success_threshold"); ok {
		if o.SuccessThreshold, err = parseThreshold("success_threshold", v); err != nil {
			return o, invalid("%s", err)
		}
	}
	if v, ok := get("expect"); ok {
		e, err := health.ParseExpect(v)
		if err != nil {
			return o, invalid("%s", err)
		}
		o.Expect = &e
	}
	return o, nil
}

func parseDuration(name, v string) (*time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a duration like 10s or 1m30s", name, v)
	}
	return &d, nil
}

func parseThreshold(name, v string) (*int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a whole number", name, v)
	}
	if n < health.MinThreshold || n > health.MaxThreshold {
		return nil, fmt.Errorf("%s %d is outside %d-%d", name, n, health.MinThreshold, health.MaxThreshold)
	}
	return &n, nil
}

// leaseFromQuery reads the optional ttl and pause parameters: nil when not
// given. ttl is a duration, 0 (clear the lease) or 10s-720h; pause is true or
// false.
func leaseFromQuery(q url.Values) (ttl *time.Duration, pause *bool, berr *badRequest) {
	if v, ok := q["ttl"]; ok && len(v) > 0 {
		var err error
		if ttl, err = parseTTL(v[0]); err != nil {
			return nil, nil, invalid("%s", err)
		}
	}
	if v, ok := q["pause"]; ok && len(v) > 0 {
		switch strings.TrimSpace(v[0]) {
		case "true":
			pause = new(true)
		case "false":
			pause = new(false)
		default:
			return nil, nil, invalid("pause %q must be true or false", v[0])
		}
	}
	return ttl, pause, nil
}

// parseTTL reads a lease's ttl: a duration like 30m, 0 to clear the lease.
func parseTTL(v string) (*time.Duration, error) {
	d, err := parseDuration("ttl", v)
	if err != nil {
		return nil, fmt.Errorf("%w (0 clears the lease)", err)
	}
	if err := health.CheckTTL(*d); err != nil {
		return nil, err
	}
	return d, nil
}

// bulkItem is one element of a POST /bulk array. Data is nil when the item
// has no "data" field (an existing URL keeps its data) and "null" when it
// says null. Thresholds must be JSON numbers. Items with labels are read by
// encoding/json (readBulkItem declines them).
type bulkItem struct {
	URL              string           `json:"url"`
	Data             json.RawMessage  `json:"data"`
	Interval         *string          `json:"interval"`
	Timeout          *string          `json:"timeout"`
	FailureThreshold *json.RawMessage `json:"failure_threshold"`
	SuccessThreshold *json.RawMessage `json:"success_threshold"`
	Expect           *string          `json:"expect"`
	// Labels is nil without a "labels" field (keep the URL's labels).
	Labels *map[string]string `json:"labels"`
	// TTL and Pause are nil when not given (keep the URL's lease, renewed,
	// and its pause).
	TTL   *string `json:"ttl"`
	Pause *bool   `json:"pause"`
}

// overrides converts the item's optional settings, reporting the first bad one.
func (b bulkItem) overrides() (health.Overrides, error) {
	q := url.Values{}
	if b.Interval != nil {
		q.Set("interval", *b.Interval)
	}
	if b.Timeout != nil {
		q.Set("timeout", *b.Timeout)
	}
	for _, t := range []struct {
		name string
		raw  *json.RawMessage
	}{{"failure_threshold", b.FailureThreshold}, {"success_threshold", b.SuccessThreshold}} {
		if t.raw == nil {
			continue
		}
		var n json.Number
		if len(*t.raw) == 0 || (*t.raw)[0] == '"' || json.Unmarshal(*t.raw, &n) != nil {
			return health.Overrides{}, fmt.Errorf("%s %s is not a JSON number (write 3, not \"3\")", t.name, *t.raw)
		}
		q.Set(t.name, n.String())
	}
	if b.Expect != nil {
		q.Set("expect", *b.Expect)
	}
	o, err := settingsFromQuery(q)
	if err != nil {
		return o, err
	}
	return o, nil
}
