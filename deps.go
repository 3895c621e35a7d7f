//go:build deps

// Package dstream's module requires kafka-go, the Kafka client the Kafka
// source and sink are built on (see DESIGN.md); this file, never built,
// keeps it in go.mod until that code imports it.
package dstream

import _ "github.com/segmentio/kafka-go"
