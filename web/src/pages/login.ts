/** The sign-in form: user name and password, or the token from the printed login URL. */
import { Api, ApiError, type User } from "../core/api";
import { storeToken } from "../core/auth";
import { h } from "../ui/dom";
import "./pages.css";

/** Resolves with a token once the user signed in. `notice` says why they are here again. */
export function loginPage(root: HTMLElement, notice?: string): Promise<string> {
  return new Promise((resolve) => {
    const username = h("input", { name: "username", autocomplete: "username", required: true, "aria-label": "User name" });
    const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, "aria-label": "Password" });
    const message = h("p", { class: "error-text", role: "alert" }, notice ?? "");
    const submit = h("button", { class: "primary", type: "submit" }, "Sign in");
    const form = h(
      "form",
      {
        class: "card",
        testid: "login-form",
        onsubmit: async (event: Event) => {
          event.preventDefault();
          submit.disabled = true;
          message.textContent = "";
          try {
            const answer = await new Api("").post<{ token: string; user: User }>("/api/v1/auth/login", {
              username: username.value,
              password: password.value,
            });
            storeToken(answer.token);
            resolve(answer.token);
          } catch (error) {
            const e = error as ApiError;
            message.textContent = e.status === 401 ? "Wrong user name or password." : e.message;
            submit.disabled = false;
            password.select();
          }
        },
      },
      h("h1", {}, logo(), "NEXUS"),
      h("p", { class: "dim" }, "Sign in to your collaborative workspace."),
      h("label", {}, "User name", username),
      h("label", {}, "Password", password),
      message,
      submit,
      h("p", { class: "dim small" }, "Administrators: open the login URL that `nexus serve` printed."),
    );
    root.replaceChildren(h("main", { class: "page" }, form));
    username.focus();
  });
}

export function logo(): HTMLElement {
  return h("span", { class: "logo", "aria-hidden": "true" }, "N");
}
