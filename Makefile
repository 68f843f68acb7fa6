# Convenience targets; CI runs .ci/run, which uses the same test command.
.PHONY: test build run vet

test:
	go test -race -count=1 -timeout 45m ./...

vet:
	go vet ./...

build:
	go build -o bin/sesame ./cmd/sesame

run:
	go run ./cmd/sesame serve
