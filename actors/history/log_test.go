package history

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/spo2/spo2/actors/health"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestChangeIsTwelveBytes(t *testing.T) {
	if n, a := unsafe.Sizeof(Change{}), unsafe.Alignof(Change{}); n != 12 || a != 4 {
		t.Fatalf("Change is %d bytes aligned on %d, want 12 on 4", n, a)
	}
}

func TestChangeRoundTripsItsFields(t *testing.T) {
	at := t0.Add(123456789)
	if before := time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC); !NewChange(before, "", "", 0, "").At().Equal(before) {
		t.Fatalf("a time before 1970 read back as %v", NewChange(before, "", "", 0, "").At())
	}
	c := NewChange(at, health.Unreachable, health.Healthy, 0, health.KindTimeout)
	if !c.At().Equal(at) || c.State() != health.Unreachable || c.Previous() != health.Healthy ||
		c.Code() != 0 || c.ErrorKind() != health.KindTimeout {
		t.Fatalf("change read back as %v %s←%s %d %q", c.At(), c.State(), c.Previous(), c.Code(), c.ErrorKind())
	}
	c = NewChange(at, health.Paused, health.Healthy, 503, "mystery")
	if c.State() != health.Paused || c.Code() != 503 || c.ErrorKind() != health.KindOther {
		t.Fatalf("paused change read back as %s %d %q, want paused 503 other", c.State(), c.Code(), c.ErrorKind())
	}
	if c := NewChange(at, "future-state", health.Healthy, 70000, ""); c.State() != "" || c.Code() != 0 {
		t.Fatalf("unknown state and out-of-range code read back as %q %d, want \"\" 0", c.State(), c.Code())
	}
}

// codes returns the codes of l's changes, newest first.
func codes(l *Log) []int {
	var out []int
	for _, c := range l.Newest() {
		out = append(out, c.Code())
	}
	return out
}

func TestLogIsBoundedAndNewestFirst(t *testing.T) {
	for _, tc := range []struct {
		limit, adds int
		want        []int
	}{
		{limit: 5, adds: 0, want: nil},
		{limit: 5, adds: 1, want: []int{1}},
		{limit: 5, adds: 3, want: []int{3, 2, 1}},
		{limit: 5, adds: 5, want: []int{5, 4, 3, 2, 1}},
		{limit: 5, adds: 6, want: []int{6, 5, 4, 3, 2}},
		{limit: 5, adds: 13, want: []int{13, 12, 11, 10, 9}},
		{limit: 1, adds: 4, want: []int{4}},
		{limit: 0, adds: 250, want: nil}, // default limit: checked by length below
	} {
		l := New(tc.limit)
		for i := 1; i <= tc.adds; i++ {
			l.Add(NewChange(t0.Add(time.Duration(i)*time.Second), health.Healthy, health.Unhealthy, i, ""))
		}
		got := codes(l)
		if tc.limit == 0 {
			if len(got) != DefaultLimit || got[0] != 250 || got[DefaultLimit-1] != 151 {
				t.Errorf("default limit after 250 adds: %d changes, %v…, want 100 from 250 down to 151", len(got), got[:3])
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("limit %d, %d adds: codes %v, want %v", tc.limit, tc.adds, got, tc.want)
		}
		if cap(l.buf) > tc.limit {
			t.Errorf("limit %d: room for %d changes, want at most the limit", tc.limit, cap(l.buf))
		}
	}
}

func TestLogAddAllocatesOnlyWhileGrowing(t *testing.T) {
	l := New(100)
	for i := range 100 {
		l.Add(NewChange(t0.Add(time.Duration(i)), health.Healthy, health.Unhealthy, 200, ""))
	}
	c := NewChange(t0, health.Unhealthy, health.Healthy, 503, "")
	if n := testing.AllocsPerRun(1000, func() { l.Add(c) }); n != 0 {
		t.Fatalf("Add to a full log: %v allocations, want 0", n)
	}
}

func TestNilLogIsEmpty(t *testing.T) {
	var l *Log
	if got := string(l.AppendJSON(nil)); got != "[]" {
		t.Errorf("nil log JSON = %s, want []", got)
	}
	if l.Len() != 0 || len(l.Newest()) != 0 {
		t.Errorf("nil log has changes")
	}
}

func TestLogJSON(t *testing.T) {
	l := New(3)
	l.Add(NewChange(t0, health.Healthy, health.Pending, 200, ""))
	l.Add(NewChange(t0.Add(1500*time.Millisecond), health.Unreachable, health.Healthy, 0, health.KindRefused))
	want := `[{"state":"unreachable","previous":"healthy","code":0,"error_kind":"refused","at":"2026-11-30T12:00:01.5Z"},` +
		`{"state":"healthy","previous":"pending","code":200,"error_kind":"","at":"2026-11-30T12:00:00Z"}]`
	if got := string(l.AppendJSON(nil)); got != want {
		t.Fatalf("JSON\n got %s\nwant %s", got, want)
	}
}

func TestStoredFormRoundTrip(t *testing.T) {
	l := New(4)
	for i := 1; i <= 6; i++ { // wraps the ring
		l.Add(NewChange(t0.Add(time.Duration(i)*time.Minute), health.Unhealthy, health.Healthy, 500+i, health.KindNone))
	}
	b := l.AppendBinary(nil)
	for _, tc := range []struct {
		name      string
		limit     int
		notBefore time.Time
		want      []int
	}{
		{"all", 4, time.Time{}, []int{506, 505, 504, 503}},
		{"smaller limit keeps the newest", 2, time.Time{}, []int{506, 505}},
		{"larger limit", 10, time.Time{}, []int{506, 505, 504, 503}},
		{"changes before a new registration dropped", 4, t0.Add(5 * time.Minute), []int{506, 505}},
		{"all before", 4, t0.Add(time.Hour), nil},
	} {
		got, err := Decode(b, tc.limit, tc.notBefore.UnixNano())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(codes(got), tc.want) {
			t.Errorf("%s: codes %v, want %v", tc.name, codes(got), tc.want)
		}
		if tc.want == nil && got != nil {
			t.Errorf("%s: a log for nothing, want nil", tc.name)
		}
	}
	if _, err := Decode([]byte{1, 2, 3}, 4, 0); err == nil || !strings.Contains(err.Error(), "stored form") {
		t.Errorf("damaged value: error %v, want one naming the stored form", err)
	}
	// A decoded log goes on as a ring.
	got, _ := Decode(b, 4, 0)
	got.Add(NewChange(t0.Add(time.Hour), health.Healthy, health.Unhealthy, 200, ""))
	if want := []int{200, 506, 505, 504}; !slices.Equal(codes(got), want) {
		t.Errorf("decoded log after one more change: %v, want %v", codes(got), want)
	}
}
