# Thin wrapper over CMake: the two commands a user needs, and a few more.
#   make run    installs what building needs, builds, starts the chat app on :8080
#   make test   installs what the tests need too, builds with ASan+UBSan, runs every test
#   make docs   installs the doc tools, builds the documentation: build/docs/html and build/docs/man
# Each installs only what its target needs (scripts/bootstrap.sh build|docs|test):
# building never pulls Chromium, clang or the test clients.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
TEST_BUILD ?= build/asan

.PHONY: all bootstrap bootstrap-test bootstrap-docs build run test test-build docs fuzz clean format

all: build

bootstrap:
	@bash scripts/bootstrap.sh build

bootstrap-test:
	@bash scripts/bootstrap.sh test

bootstrap-docs:
	@bash scripts/bootstrap.sh docs

build: bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIO_TESTS=OFF
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash scripts/run-chat.sh $(BUILD)/bin

test-build: bootstrap-test
	CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIO_SANITIZE=ON -DSIO_FUZZ=ON -DSIO_DOCS=ON -DSIO_WERROR=ON
	cmake --build $(TEST_BUILD) -j $(JOBS)

test: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

docs: bootstrap-docs
	bash docs/build.sh $(BUILD)/docs

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
