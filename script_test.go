package dstream_test

// Pipeline tests: every file in testdata/script is a testscript (txtar)
// that runs the real stage binaries, alone or joined by pipes.
//
// Besides testscript's own commands, scripts have:
//
//	pipe CMD ARGS... '|' CMD ARGS... ['|' ...]
//	    run the commands joined by pipes, as a shell would (no shell is
//	    involved), with stdout and stderr captured; fails if any command
//	    fails, naming each one's exit status (like set -o pipefail)
//	truncate FILE SIZE   cut FILE to SIZE bytes
//	flipbyte FILE OFFSET invert the bits of the byte at OFFSET
//	kafka-broker start [--sasl METHOD:USER:PASSWORD] [--tls-cert FILE] TOPIC:PARTITIONS...
//	    start a test Kafka broker (internal/kafkatest) with those topics
//	    and set $KAFKA to its address; it is killed when the script ends
//	kafka-broker stop    kill it now (an unreachable broker from then on)
//	kafka-txn [--abort] SERVER TOPIC < LINES
//	    (a program) write LINES in one Kafka transaction (internal/kafkatest)
//
// Run with -update to rewrite the expected output in the scripts after a
// deliberate change.

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"dstream/internal/kafkatest"
	"dstream/lib/ops"
	"dstream/lib/stage"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the scripts' expected output")

// raceEnv is GORACE for the stages the scripts run: no sleep at exit, and
// a race makes the stage fail with status 66, which fails the script.
const raceEnv = "atexit_sleep_ms=0 exitcode=66"

func TestMain(m *testing.M) {
	cmds := map[string]func(){
		"dstream":   func() { os.Exit(stage.MainMulti("dstream", ops.All, os.Args)) },
		kfakeBroker: func() { os.Exit(kafkatest.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"kafka-txn": func() { os.Exit(kafkatest.TxnMain(os.Args[1:], os.Stdin, os.Stderr)) },
	}
	for _, s := range ops.All {
		cmds[s.Name] = func() { os.Exit(stage.Main(s, os.Args)) }
	}
	testscript.Main(m, cmds)
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			// A binary built with -race sleeps 1 s at exit by default, to
			// flush reports; the stages here are built so under go test -race.
			env.Setenv("GORACE", raceEnv)
			// $REPO: the repository, for scripts/ (the tests run in it).
			repo, err := os.Getwd()
			if err != nil {
				return err
			}
			env.Setenv("REPO", repo)
			env.Values[brokerKey{}] = &heldBroker{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"pipe":         cmdPipe,
			"truncate":     cmdTruncate,
			"flipbyte":     cmdFlipByte,
			"kafka-broker": cmdKafkaBroker,
		},
	})
}

func cmdPipe(ts *testscript.TestScript, neg bool, args []string) {
	var stages [][]string
	cur := []string{}
	for _, a := range args {
		if a == "|" {
			stages = append(stages, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	stages = append(stages, cur)
	for _, s := range stages {
		if len(s) == 0 {
			ts.Fatalf("usage: pipe CMD ARGS... '|' CMD ARGS...")
		}
	}
	env := os.Environ()
	for _, kv := range []string{"PATH", "HOME", "TMPDIR", "GORACE", stage.EnvCheckpoint} {
		env = append(env, kv+"="+ts.Getenv(kv))
	}
	cmds := make([]*exec.Cmd, len(stages))
	// The pipes between stages are os.Pipe pairs whose ends this process
	// closes once the stages have them, so a stage that exits early (head)
	// gives the one before it a broken pipe, as in a shell.
	var ends []*os.File
	stderr := &lockedWriter{w: ts.Stderr()} // the stages write it at once
	for i, s := range stages {
		path, err := lookPath(s[0], ts.Getenv("PATH"))
		ts.Check(err)
		c := exec.Command(path, s[1:]...)
		c.Args[0] = s[0]
		c.Dir = ts.Getenv("WORK")
		c.Env = env
		c.Stderr = stderr
		if i == 0 {
			c.Stdin = strings.NewReader("")
		} else {
			r, w, err := os.Pipe()
			ts.Check(err)
			cmds[i-1].Stdout = w
			c.Stdin = r
			ends = append(ends, r, w)
		}
		cmds[i] = c
	}
	cmds[len(cmds)-1].Stdout = ts.Stdout()
	for _, c := range cmds {
		ts.Check(c.Start())
	}
	for _, f := range ends {
		f.Close()
	}
	var failed []string
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", stages[i][0], err))
		}
	}
	switch {
	case len(failed) > 0 && !neg:
		ts.Fatalf("pipeline failed: %s", strings.Join(failed, "; "))
	case len(failed) == 0 && neg:
		ts.Fatalf("pipeline succeeded unexpectedly")
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func lookPath(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in the script's PATH", name)
}

func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: truncate FILE SIZE")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
}

func cmdFlipByte(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: flipbyte FILE OFFSET")
	}
	off, err := strconv.Atoi(args[1])
	ts.Check(err)
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	if off < 0 || off >= len(data) {
		ts.Fatalf("offset %d outside the %d bytes of %s", off, len(data), args[0])
	}
	data[off] ^= 0xff
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o644))
}

// kfakeBroker is the test broker program as the scripts' PATH has it;
// scripts start it with kafka-broker.
const kfakeBroker = "kfake-broker"

// brokerKey is the script's *heldBroker in ts.Value.
type brokerKey struct{}

// heldBroker holds how to stop the script's broker, once started.
type heldBroker struct{ stop func() }

func cmdKafkaBroker(ts *testscript.TestScript, neg bool, args []string) {
	held := ts.Value(brokerKey{}).(*heldBroker)
	switch {
	case !neg && len(args) == 1 && args[0] == "stop" && held.stop != nil:
		held.stop()
		held.stop = nil // another may be started
		return
	case neg || len(args) < 2 || args[0] != "start" || held.stop != nil:
		ts.Fatalf("usage: kafka-broker start [--sasl METHOD:USER:PASSWORD] [--tls-cert FILE] TOPIC:PARTITIONS... | kafka-broker stop (one broker at a time)")
	}
	path, err := lookPath(kfakeBroker, ts.Getenv("PATH"))
	ts.Check(err)
	c := exec.Command(path, args[1:]...)
	c.Args[0] = kfakeBroker
	// Not ts.Stderr(): the broker outlives this command, and writes when
	// it likes; what it says is shown if it gives no address.
	var errs bytes.Buffer
	c.Stderr = &lockedWriter{w: &errs}
	stdin, err := c.StdinPipe() // the broker also stops when this closes
	ts.Check(err)
	stdout, err := c.StdoutPipe()
	ts.Check(err)
	ts.Check(c.Start())
	var once sync.Once
	stop := func() {
		once.Do(func() {
			c.Process.Kill()
			stdin.Close()
			c.Wait()
		})
	}
	ts.Defer(stop)
	held.stop = stop
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		ts.Fatalf("kafka-broker: no address from the broker: %v\n%s", err, errs.String())
	}
	ts.Setenv("KAFKA", strings.TrimSpace(addr))
}
