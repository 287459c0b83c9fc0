# Thin wrapper over CMake: the two commands a user needs, and a few more.
#   make run    installs what is missing, builds, starts the chat app on :8080
#   make test   installs what is missing, builds with ASan+UBSan, runs every test
#   make docs   builds the documentation: build/docs/html and build/docs/man
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
TEST_BUILD ?= build/asan

.PHONY: all bootstrap build run test test-build docs fuzz clean format

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIO_TESTS=OFF
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash scripts/run-chat.sh $(BUILD)/bin

test-build: bootstrap
	CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIO_SANITIZE=ON -DSIO_FUZZ=ON -DSIO_DOCS=ON -DSIO_WERROR=ON
	cmake --build $(TEST_BUILD) -j $(JOBS)

test: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

docs: bootstrap
	bash docs/build.sh $(BUILD)/docs

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
