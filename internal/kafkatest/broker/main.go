// Command kafka-broker is the test broker (see package kafkatest): not a
// stage, and no stage depends on it.
//
//	kafka-broker [--port N] [--sasl METHOD:USER:PASSWORD] [--tls-cert FILE] TOPIC:PARTITIONS...
package main

import (
	"os"

	"dstream/internal/kafkatest"
)

func main() { os.Exit(kafkatest.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
