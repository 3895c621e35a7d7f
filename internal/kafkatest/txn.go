package kafkatest

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TxnMain is a transactional producer for tests (kafka-go has none): it
// writes the lines of stdin as unkeyed records to TOPIC in one
// transaction, committed, or aborted with --abort. A transaction leaves a
// control record after its records, which readers must skip.
//
//	kafka-txn [--abort] SERVER TOPIC < lines
func TxnMain(args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafka-txn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	abort := fs.Bool("abort", false, "abort the transaction instead of committing it")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: kafka-txn [--abort] SERVER TOPIC < lines")
		return 2
	}
	if err := txn(fs.Arg(0), fs.Arg(1), *abort, stdin); err != nil {
		fmt.Fprintf(stderr, "kafka-txn: %v\n", err)
		return 1
	}
	return 0
}

func txn(server, topic string, abort bool, stdin io.Reader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(server), kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID("kafkatest-"+topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(sc.Text())).FirstErr(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	end := kgo.TryCommit
	if abort {
		end = kgo.TryAbort
	}
	return cl.EndTransaction(ctx, end)
}
