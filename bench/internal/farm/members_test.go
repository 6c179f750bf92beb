package farm

import "testing"

func TestMemberOf(t *testing.T) {
	for _, tc := range []struct{ ua, want string }{
		{"SpO2/1 (health probe; member=m1)", "m1"},
		{"SpO2/1 (health probe; member=host:4100)", "host:4100"},
		{"SpO2/1 (health probe)", ""},
		{"", ""},
	} {
		if got := memberOf(tc.ua); got != tc.want {
			t.Errorf("memberOf(%q) = %q, want %q", tc.ua, got, tc.want)
		}
	}
}

func TestMembersCountAndLastProber(t *testing.T) {
	m := newMembers(3)
	m.record(0, "SpO2/1 (health probe; member=m1)")
	m.record(1, "SpO2/1 (health probe; member=m2)")
	m.record(0, "SpO2/1 (health probe; member=m2)")
	m.record(2, "SpO2/1 (health probe)")
	f := &Farm{urls: make([]string, 3), members: m}
	got := f.MemberCounts()
	if got["m1"] != 1 || got["m2"] != 2 || len(got) != 2 {
		t.Errorf("counts = %v, want m1:1 m2:2", got)
	}
	if ids := f.LastProbedBy("m2", 3); len(ids) != 2 || ids[0] != 0 || ids[1] != 1 {
		t.Errorf("last probed by m2 = %v, want [0 1]", ids)
	}
	if ids := f.LastProbedBy("m1", 3); len(ids) != 0 {
		t.Errorf("last probed by m1 = %v, want none", ids)
	}
}
