// Sign in and register.

import { api } from "./api.js";
import * as auth from "./auth.js";
import { claim, describeError, h, mount } from "./ui.js";

export function renderLogin(root, { mode = "login", message = null, navigate }) {
  const error = h("p", { class: "error-text", role: "alert", hidden: !message }, message || "");
  const registering = mode === "register";

  async function submit(e) {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target));
    const button = e.target.querySelector("button[type=submit]");
    button.disabled = true;
    error.hidden = true;
    try {
      if (registering) await api.register(data.email, data.name, data.password);
      auth.store(await api.login(data.email, data.password));
      navigate("#/projects");
    } catch (err) {
      error.textContent =
        err.status === 401 ? "Wrong email or password." : err.status === 409 ? "That email is already registered." : describeError(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  claim(root);
  mount(root,
    h("div", { class: "auth-card" },
      h("h1", {}, registering ? "Create your account" : "Sign in to Boardcast"),
      h("form", { class: "stack", onsubmit: submit, "aria-label": registering ? "Register" : "Sign in" },
        registering && h("label", { class: "field" }, h("span", {}, "Name"),
          h("input", { name: "name", required: true, autocomplete: "name" })),
        h("label", { class: "field" }, h("span", {}, "Email"),
          h("input", { name: "email", type: "email", required: true, autocomplete: "username" })),
        h("label", { class: "field" }, h("span", {}, "Password"),
          h("input", { name: "password", type: "password", required: true, minlength: registering ? "8" : null,
            autocomplete: registering ? "new-password" : "current-password" })),
        error,
        h("button", { class: "btn btn-primary btn-block", type: "submit" }, registering ? "Register" : "Sign in")),
      h("p", { class: "muted center" }, registering ? "Have an account? " : "New here? ",
        h("a", { href: registering ? "#/login" : "#/register" }, registering ? "Sign in" : "Create an account"))),
  );
  root.querySelector("input")?.focus();
}
