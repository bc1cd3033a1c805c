# Custom worker image for Dataflow (and Beam's portable Flink/Spark runners):
# the official Beam Python SDK image of the Beam and Python versions the job is
# launched with, plus curation and its dependencies, so workers start without
# compiling fastText or pip-installing anything.
#
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/curation-worker:TAG .
#   python -m pipelines.curate --runner DataflowRunner --sdk_container_image IMAGE ...
#
# The launcher's apache-beam and Python must match BEAM_VERSION and the image's
# Python (3.11): Dataflow rejects an SDK version mismatch.
ARG BEAM_VERSION=2.77.0

# Stage 1: wheels for the package and everything it needs. fastText ships only
# as an sdist, so it compiles here, where build-essential is.
FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS wheels
ARG BEAM_VERSION
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY setup.py README.md ./
COPY curation ./curation
COPY pipelines ./pipelines
# The constraint keeps pip from resolving another Beam than the image's.
RUN echo "apache-beam==${BEAM_VERSION}" > /tmp/constraints.txt \
    && pip wheel --no-cache-dir --constraint /tmp/constraints.txt --wheel-dir /wheels .

# Stage 2: the worker image, without the compiler.
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}
ARG BEAM_VERSION
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels curation \
    && rm -rf /wheels \
    && python -c "import apache_beam, fasttext, curation, pipelines; assert apache_beam.__version__ == '${BEAM_VERSION}'"
# The base image's ENTRYPOINT (/opt/apache/beam/boot) starts the SDK harness; keep it.
