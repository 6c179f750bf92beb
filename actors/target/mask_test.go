package target

import "testing"

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://10.0.3.7:7700/health", "http://10.0.3.7:7700/health"},
		{"https://admin:s3cret@db.example.com:8443/health", "https://admin:****@db.example.com:8443/health"},
		{"https://admin:p%40ss:word@host/x", "https://admin:****@host/x"},
		{"https://user@host/x", "https://user@host/x"},
		{"https://user:@host/x", "https://user:****@host/x"},
		{"http://host/a@b", "http://host/a@b"},
		{"http://u:p@host?token=abc&x=1#frag", "http://u:****@host?token=****&x=1#frag"},
		{"http://host/h?Password=x&api_key=y&keep=z", "http://host/h?Password=****&api_key=****&keep=z"},
		{"http://host/h?token", "http://host/h?token"},
		{"http://host/h?pass%77ord=x&%74oken=y&a%ZZ=z", "http://host/h?pass%77ord=****&%74oken=****&a%ZZ=z"},
		{"http://host/h?api%5Fkey=x", "http://host/h?api%5Fkey=****"},
		{"not a url", "not a url"},
		{"http://u:p@[::1]:80/", "http://u:****@[::1]:80/"},
	}
	for _, tc := range tests {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
