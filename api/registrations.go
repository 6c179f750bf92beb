package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/persistence"
	"github.com/spo2/spo2/persistence/registry"
)

// askTimeout bounds how long a request waits for the supervisor's durable
// answer. Past it the client gets 503 and cannot know whether the change
// landed; a retry of the same PUT is harmless.
const askTimeout = 30 * time.Second

// getRoot serves GET /?url=U (U's custom data) and, without a url
// parameter, the dashboard.
func (s *Server) getRoot(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if _, ok := r.URL.Query()["url"]; !ok {
		// Set by hand: http.Redirect would turn "ui/" into "/ui/", which
		// breaks behind a reverse proxy that serves SpO₂ on a sub-path.
		w.Header().Set("Location", "ui/")
		w.WriteHeader(http.StatusFound)
		return
	}
	e, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeRawJSON(w, http.StatusOK, e.Registration().Data)
}

// status serves GET /status?url=U: U's full record.
func (s *Server) status(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	e, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, e.Record())
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*readmodel.Entry, bool) {
	u, berr := watchedURL(r)
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return nil, false
	}
	e := s.deps.Model.Get(u)
	if e == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("url %q is not registered", u))
		return nil, false
	}
	return e, true
}

// all serves GET /all: every record, sorted by URL, streamed; with
// labels=SELECTOR, only the records that match it.
func (s *Server) all(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var sel health.Selector
	if v, ok := r.URL.Query()["labels"]; ok {
		var err error
		if sel, err = health.ParseSelector(v[0]); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	refs := s.deps.Model.Snapshot()
	now := time.Now() // one moment for every record's uptime
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteByte('[')
	var b []byte
	first := true
	for _, ref := range refs {
		if sel != nil && !sel.Matches(ref.Reg.Labels) {
			continue
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		rec := ref.RecordAt(now)
		b = rec.AppendJSON(b[:0])
		if _, err := bw.Write(b); err != nil {
			return // the client went away
		}
	}
	bw.WriteString("]\n")
	_ = bw.Flush()
}

// put serves PUT /?url=U: register U or update its data and settings.
func (s *Server) put(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, berr := watchedURL(r)
	if berr == nil {
		berr = s.allowed(u)
	}
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	overrides, berr := settingsFromQuery(r.URL.Query())
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	ttl, pause, berr := leaseFromQuery(r.URL.Query())
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	var labels health.Labels
	if pairs, ok := r.URL.Query()["label"]; ok {
		var err error
		if labels, err = health.ParseLabels(pairs); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	data, berr := readData(w, r)
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	reply, err := s.register(r.Context(), []actors.RegisterItem{{URL: u, Data: data, Overrides: overrides, Labels: labels,
		TTL: ttl, Pause: pause}})
	if err != nil {
		writeStoreFailure(w, "", err)
		return
	}
	res := reply.Results[0]
	switch {
	case res.Err != nil:
		writeError(w, http.StatusBadRequest, res.Err.Error())
	case res.Created:
		writeJSON(w, http.StatusCreated, res.Record)
	default:
		writeJSON(w, http.StatusOK, res.Record)
	}
}

// delete serves DELETE /?url=U: forget U, answering its custom data.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, berr := watchedURL(r)
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	res, err := s.ask(r.Context(), actors.Remove{URL: u})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "removal not confirmed: "+err.Error())
		return
	}
	reply := res.(actors.RemoveReply)
	switch {
	case reply.Err != nil:
		writeStoreFailure(w, "removal failed", reply.Err)
	case !reply.Found:
		writeError(w, http.StatusNotFound, fmt.Sprintf("url %q is not registered", u))
	default:
		writeRawJSON(w, http.StatusOK, reply.Data)
	}
}

// removedReply answers DELETE /all?labels=….
type removedReply struct {
	Removed int      `json:"removed"`
	URLs    []string `json:"urls"`
}

// deleteAll serves DELETE /all?labels=SELECTOR: forget every URL that
// matches, in one durable write. Without a selector it refuses.
func (s *Server) deleteAll(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	v, ok := r.URL.Query()["labels"]
	if !ok {
		writeError(w, http.StatusBadRequest, "DELETE /all needs a label selector: labels=key=value[,key=value…]")
		return
	}
	sel, err := health.ParseSelector(v[0])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.ask(r.Context(), actors.RemoveMatching{Selector: sel})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "removal not confirmed: "+err.Error())
		return
	}
	reply := res.(actors.RemoveMatchingReply)
	if reply.Err != nil {
		writeStoreFailure(w, "removal failed, nothing was removed", reply.Err)
		return
	}
	urls := reply.URLs
	if urls == nil {
		urls = []string{}
	}
	writeJSON(w, http.StatusOK, removedReply{Removed: len(urls), URLs: urls})
}

type bulkError struct {
	Index int    `json:"index"`
	URL   string `json:"url"`
	Error string `json:"error"`
}

type bulkReply struct {
	Created int         `json:"created"`
	Updated int         `json:"updated"`
	Errors  []bulkError `json:"errors"`
}

// bulk serves POST /bulk: many registrations in one durable write.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	body, berr := readBody(w, r, MaxBulkBytes)
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	raw, ok := splitArray(body)
	if !ok { // not one array: encoding/json says why
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&raw); err != nil {
			writeError(w, http.StatusBadRequest, "body must be a JSON array of {\"url\": …, \"data\": …}: "+err.Error())
			return
		}
		if dec.More() {
			writeError(w, http.StatusBadRequest, "body must hold one JSON array")
			return
		}
		if raw == nil {
			writeError(w, http.StatusBadRequest, "body must be a JSON array of {\"url\": …, \"data\": …}, not null")
			return
		}
	}
	if len(raw) > MaxBulkItems {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d items; the limit is %d per request", len(raw), MaxBulkItems))
		return
	}
	out := bulkReply{Errors: []bulkError{}}
	items := make([]actors.RegisterItem, 0, len(raw))
	indexes := make([]int, 0, len(raw))
	for i, m := range raw {
		item, err := parseBulkItem(m)
		if berr := s.allowed(item.URL); err == nil && berr != nil {
			err = berr
		}
		if err != nil {
			out.Errors = append(out.Errors, bulkError{Index: i, URL: item.URL, Error: err.Error()})
			continue
		}
		items = append(items, item)
		indexes = append(indexes, i)
	}
	if len(items) > 0 {
		reply, err := s.register(r.Context(), items)
		if err != nil {
			writeStoreFailure(w, "", err)
			return
		}
		for j, res := range reply.Results {
			switch {
			case res.Err != nil:
				out.Errors = append(out.Errors, bulkError{Index: indexes[j], URL: items[j].URL, Error: res.Err.Error()})
			case res.Created:
				out.Created++
			default:
				out.Updated++
			}
		}
	}
	sort.Slice(out.Errors, func(i, j int) bool { return out.Errors[i].Index < out.Errors[j].Index })
	writeJSON(w, http.StatusOK, out)
}

// parseBulkItem checks one bulk item. Its bytes must be UTF-8 (encoding/json
// would quietly turn a raw 0xFF into U+FFFD), and it may hold only the known
// fields.
func parseBulkItem(m json.RawMessage) (actors.RegisterItem, error) {
	// named is the item's URL as well as it can be read, for the report.
	named := func() actors.RegisterItem {
		var n struct {
			URL string `json:"url"`
		}
		_ = json.Unmarshal(m, &n)
		return actors.RegisterItem{URL: n.URL}
	}
	if !utf8.Valid(m) {
		return named(), errors.New("item is not valid UTF-8 (a raw byte such as 0xFF); JSON text must be UTF-8")
	}
	b, ok := readBulkItem(m)
	if !ok { // an unusual item: encoding/json reads it, or says what is wrong
		b = bulkItem{}
		dec := json.NewDecoder(bytes.NewReader(m))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			if msg := err.Error(); strings.Contains(msg, "unknown field") {
				return named(), fmt.Errorf("%s (an item knows url, data, labels, interval, timeout, failure_threshold, success_threshold, expect, ttl, pause)",
					strings.TrimPrefix(msg, "json: "))
			}
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && strings.HasPrefix(te.Field, "labels") {
				return named(), errors.New(`labels must be an object of strings, e.g. {"team": "search"}`)
			}
			if errors.As(err, &te) && te.Field == "pause" {
				return named(), fmt.Errorf("pause must be true or false, not a JSON %s", te.Value)
			}
			if errors.As(err, &te) && te.Field == "ttl" {
				return named(), fmt.Errorf(`ttl must be a string like "30m", not a JSON %s`, te.Value)
			}
			return actors.RegisterItem{}, fmt.Errorf("item must be an object {\"url\": …, \"data\": …}: %v", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	item := actors.RegisterItem{URL: b.URL}
	if err := checkURL(b.URL); err != nil {
		return item, err
	}
	if len(b.Data) > MaxDataBytes {
		return item, fmt.Errorf("data is larger than %d bytes", MaxDataBytes)
	}
	if b.Data != nil { // no "data" field: an existing URL keeps its data
		data, berr := compactJSON(b.Data)
		if berr != nil {
			return item, errors.New(berr.msg)
		}
		item.Data = data
	}
	o, err := b.overrides()
	if err != nil {
		return item, err
	}
	item.Overrides = o
	if b.TTL != nil {
		if item.TTL, err = parseTTL(*b.TTL); err != nil {
			return item, err
		}
	}
	item.Pause = b.Pause
	if b.Labels != nil { // no "labels" field: an existing URL keeps its labels
		l := health.Labels(*b.Labels)
		if l == nil {
			l = health.Labels{}
		}
		if err := l.Validate(); err != nil {
			return item, err
		}
		item.Labels = l
	}
	return item, nil
}

// storeFailureCode is the status of a write the store did not make: 507 when
// its disk is full (retry once space is freed), else 503.
func storeFailureCode(err error) int {
	if errors.Is(err, persistence.ErrDiskFull) {
		return http.StatusInsufficientStorage
	}
	return http.StatusServiceUnavailable
}

// writeStoreFailure answers a write the store did not make: what failed,
// then why; in cluster mode, when etcd could not be reached, only
// "registry unavailable: <cause>", the same for every route.
func writeStoreFailure(w http.ResponseWriter, what string, err error) {
	if e := registryError(err); e != nil {
		writeError(w, http.StatusServiceUnavailable, e.Error())
		return
	}
	msg := err.Error()
	if what != "" {
		msg = what + ": " + msg
	}
	writeError(w, storeFailureCode(err), msg)
}

// registryError returns the error in err's chain that says the registry
// was unavailable, or nil.
func registryError(err error) error {
	var unavailable *registry.UnavailableError
	if errors.As(err, &unavailable) {
		return unavailable
	}
	return nil
}

// register asks the supervisor and waits for the durable answer.
func (s *Server) register(ctx context.Context, items []actors.RegisterItem) (actors.RegisterReply, error) {
	res, err := s.ask(ctx, actors.Register{Items: items})
	if err != nil {
		return actors.RegisterReply{}, fmt.Errorf("registration not confirmed: %w", err)
	}
	reply := res.(actors.RegisterReply)
	if reply.Err != nil {
		return reply, fmt.Errorf("registration failed, nothing was saved: %w", reply.Err)
	}
	return reply, nil
}

// ask sends msg to the supervisor and waits for its answer, at most
// askTimeout, and no longer than ctx lives: a client that went away does not
// hold its request open. The change may still land after that (a retry is
// harmless); the helper goroutine ends when the answer or the timeout comes.
func (s *Server) ask(ctx context.Context, msg any) (any, error) {
	f := s.deps.Root.RequestFuture(s.deps.Supervisor, msg, askTimeout)
	type answer struct {
		res any
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := f.Result()
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		return a.res, a.err
	case <-ctx.Done():
		return nil, fmt.Errorf("request ended before the answer: %w", context.Cause(ctx))
	}
}
