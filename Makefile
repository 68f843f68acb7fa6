# Convenience targets; CI runs .ci/run, which uses the same test command.
# nomsgpack leaves gin's msgpack codec (github.com/ugorji/go/codec, the
# slowest package of the build) out of the binary: Sesame speaks no msgpack.
TAGS ?= nomsgpack
.PHONY: test build run vet

test:
	go test -race -count=1 -timeout 45m ./...

vet:
	go vet ./...

build:
	go build -tags $(TAGS) -o bin/sesame ./cmd/sesame

run:
	go run -tags $(TAGS) ./cmd/sesame serve
