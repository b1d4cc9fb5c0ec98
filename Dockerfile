FROM python:3.11-slim
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY policy ./policy
COPY services ./services
COPY migrations ./migrations
RUN pip install --no-cache-dir .
COPY policies ./policies
COPY config ./config
RUN useradd --system --uid 10001 douane && mkdir -p /app/var && chown douane /app/var
USER douane
EXPOSE 8000
# Migrate first, as one step, then serve.
CMD ["sh", "-c", "douane db upgrade && douane serve --host 0.0.0.0 --port 8000"]
