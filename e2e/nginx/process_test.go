package nginx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// findNginx returns the nginx binary. Without one the test fails in CI
// (CI=true), where .ci/run installs it, and is skipped elsewhere.
func findNginx(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	msg := "nginx is not installed (Debian: apt-get install -y nginx; .ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// nginx is one running nginx in the foreground.
type nginx struct {
	addr string      // 127.0.0.1:port it serves HTTPS on
	tls  *tls.Config // trusts its certificate, and only that
	logs *harness.Buffer
}

// startNginx writes a certificate, an htpasswd file and the documented
// configuration (changed by edit when not nil), pointed at this machine's
// paths and at upstream, into a temp dir, and runs nginx there until the
// test ends.
func startNginx(t *testing.T, bin, upstream string, edit func(string) string) *nginx {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	certPEM, keyPEM := selfSigned(t)
	write(t, filepath.Join(dir, "cert.pem"), certPEM)
	write(t, filepath.Join(dir, "key.pem"), keyPEM)
	write(t, filepath.Join(dir, "htpasswd"), []byte(htpasswdLine))
	conf := documentedConfig(t, dir, addr, upstream)
	if edit != nil {
		conf = edit(conf)
	}
	write(t, filepath.Join(dir, "spo2.conf"), []byte(conf))
	// The main configuration a distribution's nginx.conf would hold, with
	// every path inside dir.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers read the htpasswd file in the 0700 temp dir
	}
	main := user + fmt.Sprintf(`worker_processes 1;
events { worker_connections 128; }
http {
    access_log /dev/stderr;
    client_body_temp_path %[1]s/body;
    proxy_temp_path       %[1]s/proxy;
    fastcgi_temp_path     %[1]s/fastcgi;
    uwsgi_temp_path       %[1]s/uwsgi;
    scgi_temp_path        %[1]s/scgi;
    include %[1]s/spo2.conf;
}
`, dir)
	write(t, filepath.Join(dir, "nginx.conf"), []byte(main))

	ng := &nginx{addr: addr, tls: tlsFor(certPEM), logs: &harness.Buffer{}}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log stderr;")
	cmd.Stdout, cmd.Stderr = ng.logs, ng.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful: finish requests, close streams
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("nginx did not exit within 10s of SIGQUIT")
		}
		if t.Failed() {
			t.Logf("nginx output:\n%s", harness.Tail(ng.logs.String(), 60))
		}
	})
	harness.Eventually(t, 15*time.Second, "nginx accepting on "+addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("nginx exited during start-up:\n%s", ng.logs.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return ng
}

// documentedConfig is docs/nginx-spo2.conf with its example listen address,
// upstream and file paths replaced by the test's. Each replaced text must be
// in the file, so the test notices when the doc's configuration changes shape.
func documentedConfig(t *testing.T, dir, listen, upstream string) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "docs", "nginx-spo2.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for _, r := range []struct{ from, to string }{
		{"listen 443 ssl;", "listen " + listen + " ssl;"},
		{"server 127.0.0.1:8000;", "server " + upstream + ";"},
		{"/etc/nginx/spo2/", dir + "/"},
	} {
		if !strings.Contains(conf, r.from) {
			t.Fatalf("docs/nginx-spo2.conf no longer holds %q; update the test's replacements", r.from)
		}
		conf = strings.ReplaceAll(conf, r.from, r.to)
	}
	return conf
}

// selfSigned returns a fresh self-signed certificate for 127.0.0.1 and
// localhost, and its key, in PEM.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "spo2 e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// freeAddr returns a loopback address whose port was free a moment ago.
// spo2 binds port 0 and reports its port; nginx cannot, so it gets one
// chosen here.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func certPool(certPEM []byte) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
