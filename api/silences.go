package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/silence"
)

// Limits of a silence request.
const (
	// MaxSilenceBytes bounds the body of POST /silences.
	MaxSilenceBytes = 4 << 10
	// MaxSilenceReasonBytes bounds a silence's reason.
	MaxSilenceReasonBytes = 1024
	// MinSilenceDuration and MaxSilenceDuration bound "duration"; "ends_at"
	// may be any time after now, at most MaxSilenceDuration ahead.
	MinSilenceDuration = time.Minute
	MaxSilenceDuration = 30 * 24 * time.Hour
)

// silenceRequest is the body of POST /silences; a nil field was not given
// (or was null).
type silenceRequest struct {
	URL      *string `json:"url"`
	Labels   *string `json:"labels"`
	Reason   *string `json:"reason"`
	EndsAt   *string `json:"ends_at"`
	Duration *string `json:"duration"`
}

// parseSilence checks the body of POST /silences and returns the silence it
// asks for, starting at now, with a fresh id. Every error names the field.
func parseSilence(body []byte, now time.Time) (silence.Silence, error) {
	var req silenceRequest
	if !utf8.Valid(body) {
		return silence.Silence{}, errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		var te *json.UnmarshalTypeError
		switch {
		case strings.Contains(msg, "unknown field"):
			return silence.Silence{}, fmt.Errorf("%s (a silence knows url, labels, reason, ends_at, duration)", msg)
		case errors.As(err, &te) && te.Field != "":
			return silence.Silence{}, fmt.Errorf("%s must be a string", te.Field)
		}
		return silence.Silence{}, fmt.Errorf(`body must be a JSON object {"url" or "labels", "reason", "ends_at" or "duration"}: %s`, msg)
	}
	if dec.More() {
		return silence.Silence{}, errors.New("body must hold one JSON object")
	}
	s := silence.Silence{ID: silence.NewID(), StartsAt: now.UTC()}
	switch {
	case req.URL != nil && req.Labels != nil:
		return s, errors.New("give url or labels, not both")
	case req.URL != nil:
		if err := checkURL(*req.URL); err != nil {
			return s, err
		}
		s.URL = *req.URL
	case req.Labels != nil:
		sel, err := health.ParseSelector(*req.Labels)
		if err != nil {
			return s, fmt.Errorf("labels: %w", err)
		}
		s.Labels, s.Selector = *req.Labels, sel
	default:
		return s, errors.New("give url (one URL) or labels (a selector key=value[,key=value…])")
	}
	switch {
	case req.Reason == nil || strings.TrimSpace(*req.Reason) == "":
		return s, errors.New("reason is missing: say why, e.g. \"deploy\"")
	case len(*req.Reason) > MaxSilenceReasonBytes:
		return s, fmt.Errorf("reason is %d bytes long; the limit is %d", len(*req.Reason), MaxSilenceReasonBytes)
	}
	s.Reason = *req.Reason
	switch {
	case req.EndsAt != nil && req.Duration != nil:
		return s, errors.New("give ends_at or duration, not both")
	case req.EndsAt != nil:
		end, err := time.Parse(time.RFC3339, *req.EndsAt)
		if err != nil {
			return s, fmt.Errorf("ends_at %q is not an RFC 3339 time such as 2026-11-30T18:00:00Z", *req.EndsAt)
		}
		if !end.After(now) {
			return s, fmt.Errorf("ends_at %s is not in the future", *req.EndsAt)
		}
		if end.Sub(now) > MaxSilenceDuration {
			return s, fmt.Errorf("ends_at %s is more than %s ahead", *req.EndsAt, "30 days")
		}
		s.EndsAt = end.UTC()
	case req.Duration != nil:
		d, err := time.ParseDuration(*req.Duration)
		if err != nil {
			return s, fmt.Errorf("duration %q is not a duration such as 90m or 2h", *req.Duration)
		}
		if d < MinSilenceDuration || d > MaxSilenceDuration {
			return s, fmt.Errorf("duration %s is out of range: 1m to 720h (30 days)", *req.Duration)
		}
		s.EndsAt = s.StartsAt.Add(d)
	default:
		return s, errors.New("give ends_at (an RFC 3339 time) or duration (such as 2h)")
	}
	return s, nil
}

// postSilence serves POST /silences: start a silence, durably, and answer it.
func (s *Server) postSilence(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	body, berr := readBody(w, r, MaxSilenceBytes)
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	si, err := parseSilence(body, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.deps.Silences.Add(si); err != nil {
		writeStoreFailure(w, "silence not saved", err)
		return
	}
	writeJSON(w, http.StatusCreated, si)
}

// getSilences serves GET /silences: the active silences, soonest ending
// first.
func (s *Server) getSilences(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	now := time.Now()
	active := s.deps.Silences.Current().List()
	out := active[:0]
	for _, si := range active {
		if !si.Ended(now) { // its timer is about to fire
			out = append(out, si)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteSilence serves DELETE /silences/{id}: end a silence now.
func (s *Server) deleteSilence(w http.ResponseWriter, _ *http.Request, p httprouter.Params) {
	si, err := s.deps.Silences.End(p.ByName("id"))
	switch {
	case errors.Is(err, silence.ErrNotFound):
		// The id is in the path already; the text stays the same for every id.
		writeError(w, http.StatusNotFound, "no active silence has this id: it ended, or never existed")
	case err != nil:
		writeStoreFailure(w, "silence not ended", err)
	default:
		writeJSON(w, http.StatusOK, si)
	}
}
