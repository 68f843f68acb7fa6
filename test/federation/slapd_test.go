package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// slapd is a real OpenLDAP server started by the test: its own config and
// database in a temp dir, listening on a loopback port, with StartTLS on
// a certificate made here.
type slapd struct {
	t      *testing.T
	url    string // ldap://127.0.0.1:PORT
	caFile string
	cmd    *exec.Cmd
	done   chan struct{}
}

const (
	ldapBase     = "dc=example,dc=com"
	ldapRootDN   = "cn=admin," + ldapBase
	ldapRootPW   = "root-secret"
	ldapSvcDN    = "cn=sesame," + ldapBase
	ldapSvcPW    = "service-secret"
	ldapAlicePW  = "alice-directory-pw"
	ldapBobPW    = "bob-directory-pw"
	ldapPeopleOU = "ou=people," + ldapBase
	ldapGroupsOU = "ou=groups," + ldapBase
)

// slapdBinary finds slapd; without it the test is skipped — but it fails
// in CI, where .ci/run installs it.
func slapdBinary(t *testing.T) string {
	for _, p := range []string{"slapd", "/usr/sbin/slapd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("slapd is not installed (Debian: apt-get install slapd ldap-utils); CI must run the LDAP tests")
	}
	t.Skip("slapd not installed (Debian: apt-get install slapd ldap-utils): skipping the real-OpenLDAP tests")
	return ""
}

func startSlapd(t *testing.T) *slapd {
	t.Helper()
	bin := slapdBinary(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile := writeCert(t, dir)
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close() // slapd binds it; a race with another process is unlikely on loopback
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
database mdb
maxsize 10485760
suffix "%[4]s"
rootdn "%[5]s"
rootpw %[6]s
directory %[1]s/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`, dir, certFile, keyFile, ldapBase, ldapRootDN, ldapRootPW)
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &slapd{t: t, url: "ldap://" + addr, caFile: caFile, done: make(chan struct{})}
	// -d 0: stay in the foreground (the test owns the process), log nothing.
	s.cmd = exec.Command(bin, "-f", confFile, "-h", s.url+"/", "-d", "0")
	var out strings.Builder
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := ldap.DialURL(s.url)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-s.done:
			t.Fatalf("slapd exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not come up: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.seed()
	return s
}

func (s *slapd) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// seed adds the tree: a service account, alice (groups eng, ops), bob
// (ops), and "al*ce"-lookalikes are not needed: filters are tested with
// the real entries.
func (s *slapd) seed() {
	t := s.t
	c, err := ldap.DialURL(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(ldapRootDN, ldapRootPW); err != nil {
		t.Fatal(err)
	}
	add := func(dn string, attrs map[string][]string) {
		r := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			r.Attribute(k, v)
		}
		if err := c.Add(r); err != nil {
			t.Fatalf("ldap add %s: %v", dn, err)
		}
	}
	add(ldapBase, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	add(ldapSvcDN, map[string][]string{"objectClass": {"organizationalRole", "simpleSecurityObject"}, "cn": {"sesame"}, "userPassword": {ldapSvcPW}})
	add(ldapPeopleOU, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	add(ldapGroupsOU, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	person := func(uid, name, mail, pw string) {
		add("uid="+uid+","+ldapPeopleOU, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid},
			"cn": {name}, "sn": {strings.Fields(name)[len(strings.Fields(name))-1]}, "mail": {mail}, "userPassword": {pw}})
	}
	person("alice", "Alice Liddell", "alice@example.com", ldapAlicePW)
	person("bob", "Bob Builder", "bob@example.com", ldapBobPW)
	add("cn=eng,"+ldapGroupsOU, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"eng"}, "member": {"uid=alice," + ldapPeopleOU}})
	add("cn=ops,"+ldapGroupsOU, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"ops"},
		"member": {"uid=alice," + ldapPeopleOU, "uid=bob," + ldapPeopleOU}})
}

// writeCert makes a CA and a server certificate for 127.0.0.1 (StartTLS).
func writeCert(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test LDAP CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "PRIVATE KEY", keyDER)
}
