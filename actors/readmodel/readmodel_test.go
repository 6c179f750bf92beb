package readmodel

import (
	"fmt"
	"sync"
	"testing"

	"github.com/spo2/spo2/actors/health"
)

func reg(url string) *health.Registration { return &health.Registration{URL: url} }

func TestPutKeepsStatusOnUpdateAndRemoveForgets(t *testing.T) {
	m := New()
	e := m.Put(reg("http://b/"), &health.Status{State: health.Pending})
	m.Put(reg("http://a/"), &health.Status{State: health.Healthy})
	e.SetStatus(&health.Status{State: health.Unhealthy, Code: 503})

	updated := &health.Registration{URL: "http://b/", Data: []byte(`{"x":1}`)}
	if again := m.Put(updated, &health.Status{State: health.Pending}); again != e {
		t.Fatal("Put of a registered URL made a new entry")
	}
	if st := m.Get("http://b/").Status(); st.State != health.Unhealthy || st.Code != 503 {
		t.Fatalf("update replaced the status: %+v", st)
	}
	if string(m.Get("http://b/").Registration().Data) != `{"x":1}` {
		t.Fatal("update did not replace the registration")
	}

	snap := m.Snapshot()
	if len(snap) != 2 || snap[0].Reg.URL != "http://a/" || snap[1].Reg.URL != "http://b/" {
		t.Fatalf("snapshot not sorted by URL: %+v", snap)
	}
	counts := m.Counts()
	if counts[health.Healthy] != 1 || counts[health.Unhealthy] != 1 || counts[health.Pending] != 0 || counts[health.Unreachable] != 0 {
		t.Fatalf("counts %v", counts)
	}

	if m.Remove("http://b/") != e || m.Get("http://b/") != nil || m.Len() != 1 {
		t.Fatal("Remove did not forget the URL")
	}
	if m.Remove("http://b/") != nil {
		t.Fatal("second Remove found something")
	}
	// A snapshot taken earlier is unaffected by later changes.
	if len(snap) != 2 || snap[1].Status.State != health.Unhealthy {
		t.Fatal("snapshot changed after the fact")
	}
}

func TestConcurrentWritersAndReaders(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				u := fmt.Sprintf("http://%d/%d", w, i)
				e := m.Put(reg(u), &health.Status{State: health.Pending})
				e.SetStatus(&health.Status{State: health.Healthy})
				if i%2 == 0 {
					m.Remove(u)
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				for _, r := range m.Snapshot() {
					_ = r.Record()
				}
				_ = m.Counts()
			}
		}()
	}
	wg.Wait()
	if m.Len() != 4*250 {
		t.Fatalf("%d URLs left, want %d", m.Len(), 4*250)
	}
	if c := m.Counts(); c[health.Healthy] != 1000 {
		t.Fatalf("counts %v, want 1000 healthy", c)
	}
}
