// Package kafkatest runs a Kafka broker for tests: franz-go's kfake, an
// in-memory broker speaking the Kafka protocol, since no Apache Kafka can
// be installed where the tests run. It is test-only: no stage imports it.
package kafkatest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Topic is a topic to create at start.
type Topic struct {
	Name       string
	Partitions int32
}

// ParseTopic parses NAME:PARTITIONS.
func ParseTopic(s string) (Topic, error) {
	name, n, ok := strings.Cut(s, ":")
	p, err := strconv.ParseInt(n, 10, 32)
	if !ok || name == "" || err != nil || p < 1 {
		return Topic{}, fmt.Errorf("topic %q: want NAME:PARTITIONS, PARTITIONS 1 or more", s)
	}
	return Topic{name, int32(p)}, nil
}

// User is a SASL user: Method is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
type User struct{ Method, Name, Password string }

// Config is what a broker starts with.
type Config struct {
	Port   int // 0: a free one
	Topics []Topic
	Users  []User // SASL is on when there are users
	// TLSCert, when set, turns TLS on with a new self-signed certificate
	// for 127.0.0.1, whose PEM is written to this file for clients to trust.
	TLSCert string
}

// Start starts a broker on 127.0.0.1. Topics are never created
// automatically, so tests see what a production broker with
// auto.create.topics.enable=false does; group sessions may be as short as
// 100ms, so tests of group rebalances run fast.
func Start(cfg Config) (*kfake.Cluster, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}
	for _, t := range cfg.Topics {
		opts = append(opts, kfake.SeedTopics(t.Partitions, t.Name))
	}
	if len(cfg.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.Users {
			opts = append(opts, kfake.Superuser(u.Method, u.Name, u.Password))
		}
	}
	if cfg.TLSCert != "" {
		tc, err := selfSigned(cfg.TLSCert)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kfake.TLS(tc))
	}
	return kfake.NewCluster(opts...)
}

// selfSigned makes a certificate for 127.0.0.1 and writes its PEM to file.
func selfSigned(file string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kafkatest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(file, pemCert, 0o644); err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
}

// Main is the broker program: it prints the broker's address on stdout
// once it listens and runs until SIGINT, SIGTERM or the end of stdin, so
// a test that dies without stopping it does not leave it behind.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafka-broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 0, "listen on 127.0.0.1:`PORT` (0: a free port)")
	var users []User
	fs.Func("sasl", "add a SASL superuser `METHOD:USER:PASSWORD` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); turns SASL on", func(s string) error {
		f := strings.SplitN(s, ":", 3)
		if len(f) != 3 {
			return fmt.Errorf("want METHOD:USER:PASSWORD")
		}
		users = append(users, User{f[0], f[1], f[2]})
		return nil
	})
	tlsCert := fs.String("tls-cert", "", "serve TLS with a new self-signed certificate, written as PEM to `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kafka-broker [--port N] [--sasl METHOD:USER:PASSWORD] [--tls-cert FILE] TOPIC:PARTITIONS...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := Config{Port: *port, Users: users, TLSCert: *tlsCert}
	for _, a := range fs.Args() {
		t, err := ParseTopic(a)
		if err != nil {
			fmt.Fprintf(stderr, "kafka-broker: %v\n", err)
			return 2
		}
		cfg.Topics = append(cfg.Topics, t)
	}
	c, err := Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "kafka-broker: %v\n", err)
		return 1
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		io.Copy(io.Discard, stdin)
		stop()
	}()
	w := bufio.NewWriter(stdout)
	fmt.Fprintln(w, c.ListenAddrs()[0])
	if err := w.Flush(); err != nil {
		return 1
	}
	<-ctx.Done()
	return 0
}
