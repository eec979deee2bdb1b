/**
 * The app's entry: sign in (form or `?token=`), then the workspace picker at `/` or the
 * workbench at `/w/{workspace_id}`. A server that cannot be reached gets a page that says so
 * and retries by itself.
 */
import { Api, ApiError, type User, type WorkspaceInfo } from "./core/api";
import { forgetToken, storedToken, takeTokenFromUrl } from "./core/auth";
import { loginPage } from "./pages/login";
import { pickerPage } from "./pages/picker";
import { h } from "./ui/dom";
import { openWorkbench } from "./workbench/workbench";
import "./styles.css";

const root = document.getElementById("app")!;

async function signedIn(notice?: string): Promise<{ api: Api; user: User }> {
  let token = takeTokenFromUrl() ?? storedToken();
  for (;;) {
    if (!token) token = await loginPage(root, notice);
    const api = new Api(token);
    try {
      return { api, user: await api.get<User>("/api/v1/auth/me") };
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      forgetToken();
      token = null;
      notice = "Your session has expired. Sign in again.";
    }
  }
}

function signOut(api: Api): void {
  void api.post("/api/v1/auth/logout").catch(() => undefined);
  forgetToken();
  window.location.assign("/");
}

/** Signs in again over the workbench (keeping its editors and what was typed in them). */
function reauthenticate(message: string): Promise<string> {
  const layer = h("div", { class: "overlay login-overlay" });
  document.body.append(layer);
  forgetToken();
  return loginPage(layer, message).then((token) => {
    layer.remove();
    return token;
  });
}

function problemPage(title: string, message: string, retry?: () => void): void {
  const retryIn = h("p", { class: "dim" });
  root.replaceChildren(
    h("main", { class: "page" }, h("section", { class: "card unreachable", role: "alert" }, h("h1", {}, title), h("p", {}, message), retryIn, h("p", {}, h("a", { href: "/" }, "All workspaces")))),
  );
  if (!retry) return;
  let seconds = 3;
  const tick = () => {
    retryIn.textContent = `Trying again in ${seconds} s…`;
    if (seconds-- <= 0) retry();
    else setTimeout(tick, 1000);
  };
  tick();
}

async function start(): Promise<void> {
  try {
    const { api, user } = await signedIn();
    const match = window.location.pathname.match(/^\/w\/([^/]+)/);
    if (!match) return await pickerPage(root, api, user, () => signOut(api));
    const workspace = await api.get<WorkspaceInfo>(`/api/v1/workspaces/${encodeURIComponent(match[1])}`);
    await openWorkbench({ root, api, user, workspace, reauthenticate, signOut: () => signOut(api) });
  } catch (error) {
    const e = error as ApiError;
    if (e.status === 0 && e.code === "unreachable") {
      problemPage("Cannot reach the NEXUS server", "The server did not answer. It may be restarting.", () => void start());
    } else if (e.status === 403) {
      problemPage("You may not open this workspace", "Ask one of its owners to invite you.");
    } else if (e.status === 404) {
      problemPage("No such workspace", "It may have been deleted.");
    } else {
      problemPage("Something went wrong", e.message ?? String(error));
    }
  }
}

void start();
