package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestReadBulkItemAgreesWithEncodingJSON: an item read directly is read
// exactly as encoding/json reads it; every other item is declined.
func TestReadBulkItemAgreesWithEncodingJSON(t *testing.T) {
	tests := []struct {
		item string
		fast bool // read directly, not declined
	}{
		{`{"url":"http://127.0.0.1:9/a","data":{"customer":1,"index":"bench"}}`, true},
		{` { "url" : "http://h/" , "data" : [ 1 , "x" ] } `[1:], true},
		{`{}`, true},
		{`{ }`, true},
		{`{"data":null}`, true},
		{`{"url":"http://h/é✓","data":"<&>"}`, true},
		{`{"url":"http://h/","interval":"5s","timeout":"1s","expect":"200-299","failure_threshold":3,"success_threshold":2}`, true},
		{`{"url":"http://h/","failure_threshold":"3","success_threshold":1.5}`, true},
		{`{"url":"http://h/","failure_threshold":{"a":[1]}}`, true},
		{`{"url":"http://h/","data":{"u\"rl":"}{]["}}`, true},
		{`{"url":"http://h/","data":true}`, true},
		{`{"url":"http://h/","data":-1.5e3}`, true},
		{`{"url":"http://h/","ttl":"30m","pause":true}`, true},
		{`{"pause":false,"url":"http://h/","ttl":"0"}`, true},
		{`{"url":"http://h/","ttl":"30m","ttl":"1h"}`, false},     // repeated
		{`{"url":"http://h/","pause":true,"pause":false}`, false}, // repeated
		{`{"url":"http://h/","pause":null}`, false},
		{`{"url":"http://h/","pause":"true"}`, false},
		{`{"url":"http://h/","ttl":null}`, false},
		{`{"url":"http://h/","ttl":30}`, false},
		{`{"url":"http://h/\u00e9"}`, false},               // an escape
		{`{"url":"http://h/\"q"}`, false},                  // an escaped quote
		{`{"u\u0072l":"http://h/"}`, false},                // an escaped key
		{`{"URL":"http://h/"}`, false},                     // another case
		{`{"url":"http://h/a","url":"http://h/b"}`, false}, // repeated
		{`{"url":"http://h/","intervall":"5s"}`, false},    // unknown
		{`{"url":null}`, false},
		{`{"url":42}`, false},
		{`{"url":"http://h/","interval":null}`, false},
		{`{"url":"http://h/","interval":5}`, false},
		{`{"url":"http://h/","failure_threshold":null}`, false},
		{`{"url":"http://h/","expect":["200"]}`, false},
		{`["http://h/"]`, false},
		{`"http://h/"`, false},
		{`null`, false},
		{`42`, false},
	}
	for _, tt := range tests {
		if !json.Valid([]byte(tt.item)) {
			t.Fatalf("%s: the test item is not valid JSON", tt.item)
		}
		got, ok := readBulkItem(json.RawMessage(tt.item))
		if ok != tt.fast {
			t.Errorf("%s: read directly %v, want %v", tt.item, ok, tt.fast)
		}
		if !ok {
			continue
		}
		var want bulkItem
		dec := json.NewDecoder(strings.NewReader(tt.item))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Errorf("%s: read directly, but encoding/json refuses it: %v", tt.item, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n read %+v\n want %+v", tt.item, got, want)
		}
	}
}

// TestSplitArrayAgreesWithEncodingJSON: the items of a valid array are the
// ones encoding/json finds; any other body is declined.
func TestSplitArrayAgreesWithEncodingJSON(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`[]`, true},
		{" [ ] \n", true},
		{`[{"url":"a"},{"url":"b","data":[1,{"x":"]"}]}]`, true},
		{"\t[ {\"url\":\"a\"} ,\n 1 , \"s\" , null , true , [ ] , -2.5e1 ]\r\n", true},
		{`[{"url":"a"}] [1]`, false},
		{`[{"url":"a"},]`, false},
		{`[{"url":"a"}`, false},
		{`{"url":"a"}`, false},
		{`null`, false},
		{``, false},
		{`  `, false},
	}
	for _, tt := range tests {
		got, ok := splitArray([]byte(tt.body))
		if ok != tt.ok {
			t.Errorf("%q: split %v, want %v", tt.body, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		var want []json.RawMessage
		if err := json.Unmarshal([]byte(tt.body), &want); err != nil {
			t.Fatalf("%q: %v", tt.body, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d items, want %d", tt.body, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%q: item %d is %s, want %s", tt.body, i, got[i], want[i])
			}
		}
	}
}

// TestBulkItemErrors: every kind of bad item is reported with its index, its
// URL as well as it can be read, and its reason, sorted by index, next to
// good items read either way (an item's keys match in any case, so "URL"
// registers).
func TestBulkItemErrors(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	items := []string{
		`{"url":"http://127.0.0.1:9/ok","data":{"a":[1, 2]}}`,
		`{"url":"http://127.0.0.1:9/refuse"}`,
		`{"url":"ftp://x/"}`,
		`{"url":"http://127.0.0.1:9/\u0061","interval":"5s"}`,
		`{"url":"http://127.0.0.1:9/u","intervall":"5s"}`,
		`{"url":42}`,
		`[1]`,
		`{"url":"http://127.0.0.1:9/t","failure_threshold":"3"}`,
		`{"url":"http://127.0.0.1:9/t","interval":"soon"}`,
		`{"url":"http://127.0.0.1:9/t","success_threshold":0}`,
		`{"url":"http://127.0.0.1:9/t","expect":"600"}`,
		`{"url":"http://127.0.0.1:/"}`,
		`{"url":""}`,
		`{"url":"http://127.0.0.1:9/d","data":` + strings.Repeat("[", MaxDataDepth+1) + strings.Repeat("]", MaxDataDepth+1) + `}`,
		`{"URL":"http://127.0.0.1:9/case"}`,
		"{\"url\":\"http://127.0.0.1:9/\xff\"}",
	}
	res := s.serve("POST", "/bulk", "["+strings.Join(items, ",")+"]")
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	want := `{"created":3,"updated":0,"errors":[` +
		`{"index":1,"url":"http://127.0.0.1:9/refuse","error":"refused by the supervisor"},` +
		`{"index":2,"url":"ftp://x/","error":"url \"ftp://x/\" must be an absolute http:// or https:// URL"},` +
		`{"index":4,"url":"http://127.0.0.1:9/u","error":"unknown field \"intervall\" (an item knows url, data, labels, interval, timeout, failure_threshold, success_threshold, expect, ttl, pause)"},` +
		`{"index":5,"url":"","error":"item must be an object {\"url\": …, \"data\": …}: cannot unmarshal number into Go struct field bulkItem.url of type string"},` +
		`{"index":6,"url":"","error":"item must be an object {\"url\": …, \"data\": …}: cannot unmarshal array into Go value of type api.bulkItem"},` +
		`{"index":7,"url":"http://127.0.0.1:9/t","error":"failure_threshold \"3\" is not a JSON number (write 3, not \"3\")"},` +
		`{"index":8,"url":"http://127.0.0.1:9/t","error":"interval \"soon\" is not a duration like 10s or 1m30s"},` +
		`{"index":9,"url":"http://127.0.0.1:9/t","error":"success_threshold 0 is outside 1-100"},` +
		`{"index":10,"url":"http://127.0.0.1:9/t","error":"expect \"600\": \"600\" is not within 100-599 in ascending order"},` +
		`{"index":11,"url":"http://127.0.0.1:/","error":"url \"http://127.0.0.1:/\" has an empty port (drop the colon or give a port)"},` +
		`{"index":12,"url":"","error":"url is empty"},` +
		`{"index":13,"url":"http://127.0.0.1:9/d","error":"data is nested more than 64 levels deep (arrays and objects); the limit is 64"},` +
		`{"index":15,"url":"http://127.0.0.1:9/�","error":"item is not valid UTF-8 (a raw byte such as 0xFF); JSON text must be UTF-8"}]}`
	if got := strings.TrimSpace(body.String()); got != want {
		t.Errorf("answer\n%s\nwant\n%s", got, want)
	}
}

// FuzzReadBulkItem: reading an item directly never fails on any bytes, and
// on valid JSON it reads what encoding/json reads, or declines.
func FuzzReadBulkItem(f *testing.F) {
	for _, seed := range []string{
		`{"url":"http://a/","data":{"x":1}}`, `{"url":"http://a/","interval":"5s","failure_threshold":2}`,
		`{"url"`, `{"url":"a",`, `{"url":"a"}}`, `{"data":[}`, `{"url":"a" "data":1}`, `{}`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := readBulkItem(b)
		if !ok || !json.Valid(b) {
			return
		}
		var want bulkItem
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%q: read directly, but encoding/json refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n read %+v\n want %+v", b, got, want)
		}
	})
}
