// Package kafka holds what produce --kafka and sink --kafka share: the
// connection flags (servers, topics, TLS, SASL), the kafka-go transport
// they make, and the start-up checks that turn an unknown topic or an
// unreachable broker into one clear error; writer.go is the sink's side,
// reader.go the source's (offsets, fetching a partition).
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"dstream/lib/enum"
	"dstream/lib/stage"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/urfave/cli/v2"
)

// EnvPassword is the environment variable that holds the SASL password:
// a command-line argument would show in ps and shell history.
const EnvPassword = "DSTREAM_KAFKA_PASSWORD"

// Flags are the connection flags of produce and sink.
func Flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kafka", Usage: "Kafka bootstrap `SERVERS`, HOST:PORT[,HOST:PORT...]"},
		&cli.StringFlag{Name: "topic", Usage: "--kafka: the `TOPIC` (produce: TOPIC[,TOPIC...])"},
		&cli.BoolFlag{Name: "tls", Usage: "--kafka: connect with TLS (system roots unless --tls-ca)"},
		&cli.StringFlag{Name: "tls-ca", Usage: "--kafka: trust the PEM certificates in `FILE` (implies --tls)"},
		&cli.StringFlag{Name: "sasl", Usage: "--kafka: SASL `MECHANISM`: plain, scram-sha-256 or scram-sha-512"},
		&cli.StringFlag{Name: "sasl-user", Usage: "--sasl: the `USER`; the password is $" + EnvPassword + " or --sasl-password-file"},
		&cli.StringFlag{Name: "sasl-password-file", Usage: "--sasl: read the password from `FILE` (its first line)"},
	}
}

// FlagNames are the flags Flags makes that only mean something with --kafka.
var FlagNames = []string{"topic", "tls", "tls-ca", "sasl", "sasl-user", "sasl-password-file"}

// Config is a connection to a Kafka cluster.
type Config struct {
	Servers []string
	Topics  []string
	TLS     *tls.Config
	SASL    sasl.Mechanism
	User    string // the SASL user, for messages
	// Retries bounds the attempts to reach the cluster at start, Backoff
	// apart, before the stage gives up with an error.
	Retries int
	Backoff time.Duration
	// OnDataLoss says what reading does at an offset Kafka no longer has.
	OnDataLoss DataLoss
}

// Mechanism is a --sasl choice.
type Mechanism int

// Mechanisms.
const (
	SASLPlain Mechanism = iota
	SASLScram256
	SASLScram512
)

var mechanismNames = []string{"plain", "scram-sha-256", "scram-sha-512"}

// FromFlags reads the connection flags. --kafka must be set; getenv reads
// the environment (os.Getenv; a test passes its own).
func FromFlags(c *stage.Context, getenv func(string) string) (Config, error) {
	cfg := Config{Retries: 5, Backoff: 200 * time.Millisecond}
	for _, s := range strings.Split(c.String("kafka"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			return cfg, stage.Usagef("--kafka %s: want HOST:PORT[,HOST:PORT...]", c.String("kafka"))
		}
		cfg.Servers = append(cfg.Servers, s)
	}
	if len(cfg.Servers) == 0 {
		return cfg, stage.Usagef("--kafka %q: want HOST:PORT[,HOST:PORT...]", c.String("kafka"))
	}
	for _, t := range strings.Split(c.String("topic"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Topics = append(cfg.Topics, t)
		}
	}
	if len(cfg.Topics) == 0 {
		return cfg, stage.Usagef("--kafka needs --topic TOPIC")
	}
	if c.Bool("tls") || c.IsSet("tls-ca") {
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		if name := c.String("tls-ca"); name != "" {
			pem, err := os.ReadFile(name)
			if err != nil {
				return cfg, stage.Usagef("--tls-ca: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return cfg, stage.Usagef("--tls-ca %s: no PEM certificate in the file", name)
			}
			cfg.TLS.RootCAs = pool
		}
	}
	if !c.IsSet("sasl") {
		if c.IsSet("sasl-user") || c.IsSet("sasl-password-file") {
			return cfg, stage.Usagef("--sasl-user and --sasl-password-file need --sasl plain|scram-sha-256|scram-sha-512")
		}
		return cfg, nil
	}
	m, err := enum.Parse[Mechanism]("SASL mechanism", mechanismNames, c.String("sasl"))
	if err != nil {
		return cfg, stage.Usagef("--sasl: %v", err)
	}
	user := c.String("sasl-user")
	cfg.User = user
	if user == "" {
		return cfg, stage.Usagef("--sasl needs --sasl-user USER")
	}
	pass, err := password(c.String("sasl-password-file"), getenv)
	if err != nil {
		return cfg, err
	}
	switch m {
	case SASLPlain:
		cfg.SASL = plain.Mechanism{Username: user, Password: pass}
	case SASLScram256, SASLScram512:
		algo := scram.SHA256
		if m == SASLScram512 {
			algo = scram.SHA512
		}
		if cfg.SASL, err = scram.Mechanism(algo, user, pass); err != nil {
			return cfg, stage.Usagef("--sasl %s: %v", c.String("sasl"), err)
		}
	}
	return cfg, nil
}

// password reads the SASL password from file, else from $DSTREAM_KAFKA_PASSWORD.
func password(file string, getenv func(string) string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", stage.Usagef("--sasl-password-file: %v", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return "", stage.Usagef("--sasl-password-file %s: the first line is empty (want the password)", file)
		}
		return line, nil
	}
	if p := getenv(EnvPassword); p != "" {
		return p, nil
	}
	return "", stage.Usagef("--sasl needs a password: set $%s or give --sasl-password-file FILE (never on the command line)", EnvPassword)
}

// Transport returns the kafka-go transport of the connection.
func (c Config) Transport() *kafka.Transport {
	return &kafka.Transport{
		DialTimeout: 5 * time.Second,
		TLS:         c.TLS,
		SASL:        c.SASL,
		ClientID:    "dstream",
		// A moved partition leader is found again within this time.
		MetadataTTL: 10 * time.Second,
	}
}

// Client returns a kafka-go client of the connection.
func (c Config) Client() *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(c.Servers...), Transport: c.Transport(), Timeout: 10 * time.Second}
}

// CloseClient closes the connections of a client made by Client.
func CloseClient(c *kafka.Client) { c.Transport.(*kafka.Transport).CloseIdleConnections() }

// Partitions returns the partition numbers of every topic, in the order
// of c.Topics, checking that each exists: topics are never created by
// dstream, and an unknown one is an error that names it. An unreachable
// cluster is tried c.Retries times before it is an error.
func (c Config) Partitions(ctx context.Context) (map[string][]int, error) {
	client := c.Client()
	defer CloseClient(client) // a client for start-up only
	var resp *kafka.MetadataResponse
	var err error
	for attempt := 1; ; attempt++ {
		resp, err = client.Metadata(ctx, &kafka.MetadataRequest{Topics: c.Topics})
		if err == nil || ctx.Err() != nil || attempt >= c.Retries || errors.Is(err, kafka.SASLAuthenticationFailed) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(c.Backoff):
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, kafka.SASLAuthenticationFailed) {
			return nil, fmt.Errorf("--kafka %s: SASL authentication of user %s failed: %v", strings.Join(c.Servers, ","), c.User, err)
		}
		hint := ""
		if c.SASL != nil && errors.Is(err, io.ErrUnexpectedEOF) {
			// Some brokers close the connection on a failed login.
			hint = fmt.Sprintf(" (the cluster closed the connection: check SASL user %s, its password and --sasl)", c.User)
		}
		return nil, fmt.Errorf("--kafka %s: cannot reach the cluster after %d attempts: %v%s", strings.Join(c.Servers, ","), c.Retries, unwrapNet(err), hint)
	}
	parts := make(map[string][]int, len(c.Topics))
	for _, t := range resp.Topics {
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("--topic %s: %v", t.Name, t.Error)
		}
		ps := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, p.ID)
		}
		slices.Sort(ps)
		parts[t.Name] = ps
	}
	for _, t := range c.Topics {
		if len(parts[t]) == 0 {
			return nil, fmt.Errorf("--topic %s: no such topic on %s (dstream never creates topics: create it first)", t, strings.Join(c.Servers, ","))
		}
	}
	return parts, nil
}

// unwrapNet shortens a dial error to its cause: "dial tcp ...: connection refused".
func unwrapNet(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return err
}
