package actors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
)

// compactFrame is one decoded frame of a compact snapshot.
type compactFrame []struct {
	Type    string            `json:"type"`
	Seq     uint64            `json:"seq"`
	TableAt int               `json:"table_at"`
	Table   []json.RawMessage `json:"table"`
	Records []json.RawMessage `json:"records"`
}

// compactDecoder reads compact frames in order, as a client does.
type compactDecoder struct {
	table  []json.RawMessage
	synced bool
	seqs   []uint64
}

// frame decodes one frame's records into health.Records.
func (d *compactDecoder) frame(t *testing.T, payload []byte) []health.Record {
	t.Helper()
	var evs compactFrame
	if err := json.Unmarshal(payload, &evs); err != nil {
		t.Fatalf("frame is not a JSON array of events: %v\n%s", err, payload)
	}
	var out []health.Record
	for _, ev := range evs {
		d.seqs = append(d.seqs, ev.Seq)
		switch ev.Type {
		case TypeSynced:
			d.synced = true
		case TypeRecords:
			if ev.TableAt != len(d.table) {
				t.Fatalf("table_at %d, want %d (the entries so far)", ev.TableAt, len(d.table))
			}
			d.table = append(d.table, ev.Table...)
			for _, raw := range ev.Records {
				out = append(out, d.record(t, raw))
			}
		default:
			t.Fatalf("unexpected event %q", ev.Type)
		}
	}
	return out
}

func (d *compactDecoder) record(t *testing.T, raw json.RawMessage) health.Record {
	t.Helper()
	var f []json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || len(f) != CompactFields {
		t.Fatalf("record %s: want an array of %d fields (%v)", raw, CompactFields, err)
	}
	entry := func(field int, into any) {
		var i int
		if err := json.Unmarshal(f[field], &i); err != nil || i < 0 || i >= len(d.table) {
			t.Fatalf("field %d of %s is not a table index (%d entries)", field, raw, len(d.table))
		}
		if err := json.Unmarshal(d.table[i], into); err != nil {
			t.Fatalf("table entry %d %s: %v", i, d.table[i], err)
		}
	}
	millis := func(field int) *time.Time {
		var ms *int64
		if err := json.Unmarshal(f[field], &ms); err != nil {
			t.Fatalf("field %d of %s is not ms or null", field, raw)
		}
		if ms == nil {
			return nil
		}
		at := time.UnixMilli(*ms).UTC()
		return &at
	}
	var r health.Record
	_ = json.Unmarshal(f[CompactURL], &r.URL)
	if !bytes.Equal(f[CompactData], []byte("null")) {
		r.Data = json.RawMessage(f[CompactData])
	}
	entry(CompactProbe, &r.Probe)
	entry(CompactLabels, &r.Labels)
	r.ExpiresAt = millis(CompactExpiresAt)
	var silenced int
	_ = json.Unmarshal(f[CompactSilenced], &silenced)
	r.Silenced = silenced == 1
	var up *[2]float64
	_ = json.Unmarshal(f[CompactUptime], &up)
	if up != nil {
		r.Uptime = health.Uptime{Known: true, Day: up[0], Week: up[1]}
	}
	var state, kind string
	entry(CompactState, &state)
	entry(CompactErrorKind, &kind)
	entry(CompactError, &r.Status.Error)
	r.Status.State, r.Status.ErrorKind = health.State(state), health.ErrorKind(kind)
	_ = json.Unmarshal(f[CompactCode], &r.Status.Code)
	_ = json.Unmarshal(f[CompactLatencyMS], &r.Status.LatencyMS)
	r.Status.CheckedAt = millis(CompactCheckedAt)
	for field, into := range map[int]*time.Time{CompactSince: &r.Status.Since, CompactCreatedAt: &r.CreatedAt, CompactUpdatedAt: &r.UpdatedAt} {
		if at := millis(field); at != nil {
			*into = *at
		}
	}
	return r
}

// wantCompact is rec as a client of the compact encoding sees it: times to
// the millisecond, in UTC; no labels as an empty set.
func wantCompact(rec health.Record) health.Record {
	ms := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return time.UnixMilli(t.UnixMilli()).UTC()
	}
	ptr := func(t *time.Time) *time.Time {
		if t == nil || t.IsZero() {
			return nil
		}
		at := ms(*t)
		return &at
	}
	rec.ExpiresAt, rec.Status.CheckedAt = ptr(rec.ExpiresAt), ptr(rec.Status.CheckedAt)
	rec.Status.Since, rec.CreatedAt, rec.UpdatedAt = ms(rec.Status.Since), ms(rec.CreatedAt), ms(rec.UpdatedAt)
	if rec.Labels == nil {
		rec.Labels = health.Labels{}
	}
	return rec
}

// TestCompactEncodingRoundTrip: every field of every record comes back from
// the compact frames (times to the millisecond), shared values are sent
// once across frames, and the last frame ends with synced.
func TestCompactEncodingRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 24, 58, 301362927, time.UTC)
	later := at.Add(90*time.Minute + 123456789)
	gold := health.Labels{"tier": "gold", "team": "search"}
	probe := health.Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 3, SuccessThreshold: 1,
		Expect: health.MustParseExpect("200-399")}
	other := health.Settings{Interval: 1500 * time.Millisecond, Timeout: 700 * time.Millisecond, FailureThreshold: 1, SuccessThreshold: 2,
		Expect: health.MustParseExpect("200,204,300-399")}
	tests := []struct {
		name string
		rec  health.Record
	}{
		{"healthy with labels, data and uptime", health.Record{URL: "http://10.0.3.7:7700/health", Data: json.RawMessage(`{"index":"movies","customer":42}`),
			Probe: probe, Labels: gold, Uptime: health.Uptime{Known: true, Day: 0.998958, Week: 1},
			Status: health.Status{State: health.Healthy, Code: 200, LatencyMS: 4.123456, CheckedAt: &later, Since: at}, CreatedAt: at, UpdatedAt: later}},
		{"pending: nulls everywhere", health.Record{URL: "http://127.0.0.1:9/new", Probe: probe,
			Status: health.Status{State: health.Pending, Since: at}, CreatedAt: at, UpdatedAt: at}},
		{"unreachable, silenced, leased", health.Record{URL: "http://127.0.0.1:9/x?q=\"quoted\"&u=\u2028", Data: json.RawMessage(`"just text <&>"`),
			Probe: other, Labels: health.Labels{"team": "ads"}, ExpiresAt: &later, Silenced: true, Uptime: health.Uptime{Known: true, Day: 0, Week: 0.5},
			Status:    health.Status{State: health.Unreachable, Error: "dial tcp: connection refused \"é\"", ErrorKind: health.KindRefused, LatencyMS: 0.4, CheckedAt: &later, Since: later},
			CreatedAt: at, UpdatedAt: later}},
		{"unhealthy, same labels as the first", health.Record{URL: "http://10.0.3.8:7700/health", Data: json.RawMessage(`[1,2,{"a":null}]`),
			Probe: probe, Labels: health.Labels{"team": "search", "tier": "gold"},
			Status: health.Status{State: health.Unhealthy, Code: 503, LatencyMS: 12, CheckedAt: &later, Since: later}, CreatedAt: at, UpdatedAt: at}},
		{"paused", health.Record{URL: "http://10.0.3.9:7700/", Data: json.RawMessage(`12.5`), Probe: probe, Labels: health.Labels{},
			Status: health.Status{State: health.Paused, Code: 200, Since: later}, CreatedAt: at, UpdatedAt: later}},
		{"uptime with no share yet", health.Record{URL: "http://10.0.3.10:7700/", Data: json.RawMessage(`null`), Probe: probe, Labels: gold,
			Uptime: health.Uptime{Known: true, Day: 1, Week: 1}, Status: health.Status{State: health.Healthy, Code: 204, Since: at}, CreatedAt: at, UpdatedAt: at}},
	}
	// One record a frame, in order: the table carries over between frames.
	enc, dec := NewCompactEncoder(), &compactDecoder{}
	var frames [][]byte
	for i, tc := range tests {
		frame := enc.AppendFrame(nil, []health.Record{tc.rec}, 77, i == len(tests)-1)
		frames = append(frames, frame)
		got := dec.frame(t, frame)
		want := wantCompact(tc.rec)
		if string(want.Data) == "null" {
			want.Data = nil
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("%s:\n got %+v\nwant %+v\nframe %s", tc.name, got, want, frame)
		}
	}
	if !dec.synced {
		t.Error("no synced after the last frame")
	}
	for _, s := range dec.seqs {
		if s != 77 {
			t.Errorf("seqs %v, want every event at 77", dec.seqs)
			break
		}
	}
	// Shared values are sent once: the 4th record adds no table entry (its
	// labels, probe, state and empty error are known), its frame says so.
	if !bytes.Contains(frames[3], []byte(`"table":["unhealthy"]`)) {
		t.Errorf("the 4th frame should add only its state to the table:\n%s", frames[3])
	}
	if len(dec.table) != len(uniqueEntries(dec.table)) {
		t.Errorf("table has duplicates: %s", dec.table)
	}
}

func uniqueEntries(table []json.RawMessage) map[string]bool {
	seen := map[string]bool{}
	for _, e := range table {
		seen[string(e)] = true
	}
	return seen
}

// TestCompactSnapshotFrames: a compact snapshot carries every record once,
// failing first, 1,000 a frame, and ends with synced; its frames are a
// quarter of the size of the events' or less.
func TestCompactSnapshotFrames(t *testing.T) {
	const n = 2*SnapshotFrameRecords + 10
	m := readmodel.New()
	probe := health.Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 3, SuccessThreshold: 1,
		Expect: health.MustParseExpect("200-399")}
	for i := range n {
		st := health.Healthy
		if i%10 == 3 {
			st = health.Unhealthy
		}
		at := time.Now()
		m.Put(&health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/u%06d", i), Data: json.RawMessage(fmt.Sprintf(`{"customer":%d}`, i)),
			Probe: probe, Labels: health.Labels{"team": fmt.Sprint("t", i%7)}, CreatedAt: at, UpdatedAt: at},
			&health.Status{State: st, Code: 200, LatencyMS: 1.25, CheckedAt: &at, Since: at})
	}
	compact := newSharedSnapshot(m.Refs(), time.Now(), 5, nil, true)
	events := newSharedSnapshot(m.Refs(), time.Now(), 5, nil, false)
	dec := &compactDecoder{}
	var recs []health.Record
	var size, eventsSize int
	for i := 0; ; i++ {
		f, ok := compact.Frame(i)
		if !ok {
			break
		}
		if dec.synced {
			t.Fatal("a frame after synced")
		}
		got := dec.frame(t, f.Payload)
		if len(got) > SnapshotFrameRecords {
			t.Errorf("frame %d holds %d records", i, len(got))
		}
		recs = append(recs, got...)
		size += len(f.Payload)
	}
	frames, _ := readFrames(t, events)
	for _, f := range frames {
		eventsSize += len(f.Payload)
	}
	if !dec.synced || len(recs) != n {
		t.Fatalf("%d records, synced %v; want %d and synced", len(recs), dec.synced, n)
	}
	failing := n / 10
	for i, r := range recs {
		if (i < failing) != (r.Status.State == health.Unhealthy) {
			t.Fatalf("record %d is %s: want the %d failing first", i, r.Status.State, failing)
		}
	}
	if size*4 > eventsSize {
		t.Errorf("compact snapshot %d bytes, events %d: want at most a quarter", size, eventsSize)
	}
	t.Logf("%d records: compact %d B (%d B a record), events %d B", n, size, size/n, eventsSize)
}
