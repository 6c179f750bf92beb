package api

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// Query parameters each route knows. Any other parameter, a repeated one, or
// a query string that does not parse (a ";" separator, a bad %-escape) is a
// 400 naming it: a typo such as intervall=5s must never be silently ignored.
// Only the parameters in paramsRepeatable may be given more than once.
var (
	paramsNone     = []string{}
	paramsURL      = []string{"url"}
	paramsPut      = []string{"url", "interval", "timeout", "failure_threshold", "success_threshold", "expect", "label", "ttl", "pause"}
	paramsAll      = []string{"labels"}
	paramsWS       = []string{"token", "since", "labels", "snapshot"}
	paramsProfiles = []string{"debug", "seconds", "gc"}

	paramsRepeatable = []string{"label"}
)

// checkQuery parses r's query string strictly and checks every parameter is
// known, and given once.
func checkQuery(r *http.Request, known []string) (url.Values, *badRequest) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invalid("query string %q does not parse: %v (separate parameters with &, escape with %%XX)",
			r.URL.RawQuery, err)
	}
	var unknown, repeated []string
	for name, v := range values {
		switch {
		case !slices.Contains(known, name):
			unknown = append(unknown, name)
		case len(v) > 1 && !slices.Contains(paramsRepeatable, name):
			repeated = append(repeated, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		knows := "none"
		if len(known) > 0 {
			knows = strings.Join(known, ", ")
		}
		return nil, invalid("unknown query parameter %s on %s %s (it knows: %s)",
			strings.Join(quoteAll(unknown), ", "), r.Method, r.URL.Path, knows)
	}
	if len(repeated) > 0 {
		sort.Strings(repeated)
		return nil, invalid("query parameter %s given more than once; give it once",
			strings.Join(quoteAll(repeated), ", "))
	}
	return values, nil
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

// strictQuery answers 400 before h runs when the query string is malformed,
// repeats a parameter or has one that is not in known.
func strictQuery(known []string, h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if _, berr := checkQuery(r, known); berr != nil {
			writeError(w, berr.code, berr.msg)
			return
		}
		h(w, r, p)
	}
}
