"""The Warungin checkout the rehearsal host is created with: the release running in production
(`OLD_FILES`) and what the newer commit on origin changes (`release_files`).

Realistic enough for `git pull`, `tar` backups and `docker compose config` to meet a real tree.
"""

from __future__ import annotations

COMPOSE_YML = """\
name: warungin

services:
  postgres:
    image: postgres:15-alpine
    container_name: warungin-postgres
    restart: unless-stopped
    environment:
      POSTGRES_USER: warungin
      POSTGRES_DB: warungin
      POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U warungin -d warungin"]
      interval: 10s
      retries: 5

  redis:
    image: redis:7-alpine
    container_name: warungin-redis
    restart: unless-stopped
    command: redis-server --appendonly yes
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 10s

  backend:
    build: ./backend
    container_name: warungin-backend
    restart: unless-stopped
    env_file: .env
    ports:
      - "127.0.0.1:8000:8000"
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8000/api/health"]
      interval: 10s
      start_period: 20s

  frontend:
    build: ./frontend
    container_name: warungin-frontend
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost/"]
      interval: 10s

  nginx:
    image: nginx:1.27-alpine
    container_name: warungin-nginx
    restart: unless-stopped
    ports:
      - "80:80"
    volumes:
      - ./nginx/nginx.conf:/etc/nginx/nginx.conf:ro
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost/"]
      interval: 10s

  loki:
    image: grafana/loki:2.9.4
    container_name: warungin-loki
    restart: unless-stopped
    command: -config.file=/etc/loki/local-config.yaml

  promtail:
    image: grafana/promtail:2.9.4
    container_name: warungin-promtail
    restart: unless-stopped
    volumes:
      - ./monitoring/promtail.yml:/etc/promtail/config.yml:ro
      - /var/lib/docker/containers:/var/lib/docker/containers:ro

  cloudflared:
    image: cloudflare/cloudflared:2024.12.2
    container_name: warungin-cloudflared
    restart: unless-stopped
    command: --no-autoupdate tunnel run
    env_file: .env.tunnel

volumes:
  pgdata:
"""

OLD_FILES: dict[str, str] = {
    "docker-compose.yml": COMPOSE_YML,
    "VERSION": "{old}\n",
    "README.md": "# Warungin POS\n\nPoint of sale for warungs: backend (FastAPI), frontend "
    "(React + Vite), nginx in front.\n\nDeploy: see PRODUCTION_DEPLOYMENT_PLAYBOOK.md.\n",
    "CHANGELOG.md": "# Changelog\n\n## {old}\n- Shift management, store authorization.\n",
    ".gitignore": ".env\n.env.tunnel\nbackup-*.tar.gz\nbackups/\nnode_modules/\n__pycache__/\n",
    "backend/Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
    "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n"
    "RUN python -m compileall -q app\n"
    'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]\n',
    "backend/requirements.txt": "fastapi==0.115.6\nuvicorn==0.34.0\nasyncpg==0.30.0\n"
    "redis==5.2.1\n",
    "backend/app/__init__.py": "",
    "backend/app/main.py": '"""Warungin POS API."""\n\nfrom fastapi import FastAPI\n\n'
    'app = FastAPI(title="Warungin POS")\n\n\n@app.get("/api/health")\ndef health() -> dict:\n'
    '    return {"status": "ok"}\n',
    "frontend/Dockerfile": "FROM node:20-alpine AS build\nWORKDIR /app\nCOPY package*.json ./\n"
    "RUN npm ci\nCOPY . .\nRUN npm run build\n\nFROM nginx:1.27-alpine\n"
    "COPY --from=build /app/dist /usr/share/nginx/html\n",
    "frontend/package.json": '{{\n  "name": "warungin-frontend",\n  "version": "{old}",\n'
    '  "scripts": {{ "build": "vite build" }}\n}}\n',
    "frontend/src/main.tsx": 'import { createRoot } from "react-dom/client";\nimport App from '
    '"./App";\n\ncreateRoot(document.getElementById("root")!).render(<App />);\n',
    "nginx/nginx.conf": "events {}\nhttp {\n  server {\n    listen 80;\n"
    "    location /api/ { proxy_pass http://backend:8000; }\n"
    "    location / { proxy_pass http://frontend:80; }\n  }\n}\n",
    "monitoring/promtail.yml": "server:\n  http_listen_port: 9080\nclients:\n"
    "  - url: http://loki:3100/loki/api/v1/push\n",
}

# The .env of the `secrets-in-output` scenario (not in git: .gitignore lists it). Made-up values
# in the shapes real ones have; tests put their own corpus here.
LEAKY_DOTENV = """\
DATABASE_URL=postgres://warungin:DemoPgPassw0rd@postgres:5432/warungin
REDIS_URL=redis://:DemoRedisPw@redis:6379/0
JWT_SECRET=DemoJwtSecretValue
SMTP_PWD=DemoSmtpPwd
STRIPE_SECRET=sk_live_DemoStripeKey000000000000
AWS_ACCESS_KEY_ID=AKIADEMO0000EXAMPLE
AWS_SECRET_ACCESS_KEY=DemoAwsSecretKey/0000000000000000000000
"""

# Paths the newer commit adds (a rollback must remove them again).
ADDED_FILES = ("backend/new_feature.py",)


def old_files(old: str) -> dict[str, str]:
    """The tree of the release running in production."""
    return {path: _fill(text, old=old) for path, text in OLD_FILES.items()}


def release_files(old: str, new: str) -> dict[str, str]:
    """Files the newer commit on origin writes (changed and added)."""
    return {
        "VERSION": f"{new}\n",
        "CHANGELOG.md": f"# Changelog\n\n## {new}\n- Shift caching (5 s TTL), request dedup, "
        f"2FA enforcement.\n\n## {old}\n- Shift management, store authorization.\n",
        "backend/new_feature.py": '"""Shift cache: answers repeated shift lookups for 5 s."""\n\n'
        "import time\n\nTTL_SECONDS = 5.0\n_cache: dict[int, tuple[float, dict]] = {}\n\n\n"
        "def cached_shift(store_id: int, load) -> dict:\n    now = time.monotonic()\n"
        "    hit = _cache.get(store_id)\n    if hit and now - hit[0] < TTL_SECONDS:\n"
        "        return hit[1]\n    value = load(store_id)\n    _cache[store_id] = (now, value)\n"
        "    return value\n",
        "frontend/package.json": _fill(OLD_FILES["frontend/package.json"], old=new),
    }


def _fill(text: str, **values: str) -> str:
    # Only templates with {old} placeholders go through format(); the rest hold literal braces.
    return text.format(**values) if "{old}" in text else text
