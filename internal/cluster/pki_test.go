package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block, "no PEM block in %s", path)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

func TestWritePKIMakesAWorkingChain(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writePKI(dir, net.ParseIP("10.97.0.1"), net.ParseIP("192.0.2.2")))
	ca := readCert(t, filepath.Join(dir, "ca.crt"))
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	api := readCert(t, filepath.Join(dir, "apiserver.crt"))
	for _, host := range []string{"localhost", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "127.0.0.1", "10.97.0.1", "192.0.2.2"} {
		_, err := api.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		assert.NoError(t, err, "apiserver certificate for %s", host)
	}
	admin := readCert(t, filepath.Join(dir, "admin.crt"))
	_, err := admin.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
	assert.Equal(t, []string{"system:masters"}, admin.Subject.Organization)
	_, err = tls.LoadX509KeyPair(filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key"))
	assert.NoError(t, err, "admin key must match its certificate")
	for _, f := range pkiFiles {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
}

func TestWritePKIKeepsAnExistingPKI(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writePKI(dir, nil, nil))
	before, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	require.NoError(t, writePKI(dir, nil, nil))
	after, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	assert.Equal(t, before, after, "a second call must not replace the CA (running components trust it)")

	require.NoError(t, os.Remove(filepath.Join(dir, "sa.pub")))
	require.NoError(t, writePKI(dir, nil, nil))
	regenerated, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	assert.NotEqual(t, before, regenerated, "an incomplete PKI is made anew")
}
