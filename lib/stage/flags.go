package stage

import (
	"fmt"
	"strconv"
	"strings"

	"dstream/lib/frame"

	"github.com/urfave/cli/v2"
)

// Flags every stage has, added by the runtime.
const (
	FlagCheckpoint   = "checkpoint"
	FlagID           = "id"
	FlagEphemeral    = "ephemeral"
	FlagResetState   = "reset-state"
	FlagCompress     = "compress"
	FlagMaxFrameSize = "max-frame-size"

	// EnvCheckpoint names the checkpoint directory when --checkpoint is not given.
	EnvCheckpoint = "DSTREAM_CHECKPOINT"
)

func commonFlags(s *Spec) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: FlagCheckpoint, EnvVars: []string{EnvCheckpoint}, Usage: "the pipeline's checkpoint `DIR`; the stage keeps its files in DIR/ID/", Category: "runtime"},
		&cli.StringFlag{Name: FlagID, Usage: "checkpoint `ID` of this stage, when a stage name repeats in a pipeline (default: the stage name)", Category: "runtime"},
		&cli.StringFlag{Name: FlagMaxFrameSize, Value: "256MiB", Usage: "largest frame to read or write (`SIZE` in bytes, or with KiB, MiB, GiB)", Category: "runtime"},
	}
	if s.Kind != KindSink {
		flags = append(flags, &cli.StringFlag{Name: FlagCompress, Value: "none", Usage: "compression of output frames' partitions: none, s2 or zstd", Category: "runtime"})
	}
	if s.Stateful {
		flags = append(flags,
			&cli.BoolFlag{Name: FlagEphemeral, Usage: "run without a checkpoint directory: state is lost when the stage stops", Category: "runtime"},
			&cli.BoolFlag{Name: FlagResetState, Usage: "start with empty state instead of the committed checkpoint's (after a change of arguments; the output will differ from an uninterrupted run's)", Category: "runtime"})
	}
	return flags
}

// ParseSize parses a byte count: digits, optionally followed by KiB, MiB or
// GiB (or K, M, G, meaning the same).
func ParseSize(s string) (int, error) {
	units := []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := 1
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || n > (1<<32-1)/mult {
		return 0, fmt.Errorf("bad size %q (want a positive byte count below 4GiB, like 1048576, 64MiB or 1GiB)", s)
	}
	return n * mult, nil
}

func parseCommon(c *cli.Context, s *Spec) (codec frame.Codec, maxSize int, err error) {
	maxSize, err = ParseSize(c.String(FlagMaxFrameSize))
	if err != nil {
		return 0, 0, Usagef("--%s: %v", FlagMaxFrameSize, err)
	}
	if s.Kind != KindSink {
		codec, err = frame.ParseCodec(c.String(FlagCompress))
		if err != nil {
			return 0, 0, Usagef("--%s: %v", FlagCompress, err)
		}
	}
	return codec, maxSize, nil
}

// runtimeFlags are the flags commonFlags adds: they do not shape a stage's
// state.
var runtimeFlags = map[string]bool{FlagCheckpoint: true, FlagID: true, FlagMaxFrameSize: true, FlagCompress: true, FlagEphemeral: true, FlagResetState: true}

// StateConfig is the configuration a snapshot records and a restore
// compares: the stage's arguments and the stage's own flags that are set,
// quoted. Runtime flags are left out: they change how the stage runs, not
// what its state means.
func StateConfig(c *cli.Context, s *Spec) string {
	var parts []string
	for _, a := range c.Args().Slice() {
		parts = append(parts, quoteArg(a))
	}
	for _, f := range s.Flags {
		name := f.Names()[0]
		if runtimeFlags[name] || !c.IsSet(name) {
			continue
		}
		parts = append(parts, "--"+name+"="+quoteArg(fmt.Sprint(c.Value(name))))
	}
	return strings.Join(parts, " ")
}

// quoteArg quotes an argument that a shell would split or expand.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
		return a
	}
	return strconv.Quote(a)
}
