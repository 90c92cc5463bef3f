/// The browser test's script: Selenium driving headless Chromium through the console against
/// a server given by its base URL (arguments: the URL and a directory for the screenshots). It
/// prints one `RESULT {json}` line of what it saw, for the Swift test to check.
enum ConsoleBrowserScript {
    /// What both browser tests begin with: the modules, the arguments, a JSON client of the API,
    /// signup, the browser, `read` (again while the page re-renders) and `sign_in` (of the
    /// globals `driver` and `wait` a script sets from `open_browser()`).
    static let prelude = #"""
import json, os, shutil, sys, time, urllib.request, urllib.error
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.support.ui import Select, WebDriverWait

base, shots = sys.argv[1], sys.argv[2]
# The suite's timing tests run beside this one: Chromium (which inherits this) runs only on
# CPU they leave idle.
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))

def call(method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header('Content-Type', 'application/json')
    if token: request.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b'null')

def signup(email, name):
    status, answer = call('POST', '/v1/auth/signup', body={'email': email, 'password': 'correct horse battery', 'workspace_name': name})
    assert status == 201, (status, answer)
    return answer['token']

def open_browser():
    """Headless Chromium with a profile of its own (two on the default profile would be one: the
    second hands its window to the first and exits), and a 15 s wait."""
    options = Options()
    for argument in ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,900',
                     '--user-data-dir=' + os.path.join(shots, 'profile')]:
        options.add_argument(argument)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which('chromedriver')))
    return driver, WebDriverWait(driver, 15, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])

def read(look):
    # The page re-renders as events arrive: read again when an element went stale.
    for _ in range(50):
        try:
            return look()
        except (NoSuchElementException, StaleElementReferenceException):
            time.sleep(0.1)
    return look()

def sign_in(email):
    driver.get(base + '/console')
    wait.until(lambda d: d.find_elements(By.ID, 'email'))
    driver.find_element(By.ID, 'email').send_keys(email)
    driver.find_element(By.ID, 'password').send_keys('correct horse battery')
    driver.find_element(By.ID, 'sign-in').click()
    wait.until(lambda d: d.find_elements(By.ID, 'sign-out'))

"""#

    static let text = prelude + "\n" + #"""
XSS = '<img src=x onerror=alert(1)>'

owner = signup('ada@example.com', 'Acme')
workspace = call('GET', '/v1/auth/me', owner)[1]['workspace_id']
status, _ = call('POST', '/v1/workflows', owner, {'slug': 'review', 'name': 'Review', 'steps': [
    {'id': 'build', 'kind': 'task', 'queue': 'build'},
    {'id': 'gate', 'kind': 'approval', 'needs': ['build'], 'approvers': ['owner', 'admin']}]})
assert status == 201, status
worker = call('POST', '/v1/api-keys', owner, {'name': 'worker', 'scopes': ['jobs:work']})[1]['raw_key']
status, run = call('POST', '/v1/runs', owner, {'workflow': 'review', 'ticket': 'JIRA-7', 'metadata': {'note': XSS}})
assert status == 201, (status, run)
invite = call('POST', '/v1/workspaces/%s/members' % workspace, owner, {'email': 'vic@example.com', 'role': 'viewer'})[1]['invite_token']
viewer = signup('vic@example.com', 'Vic')
assert call('POST', '/v1/invitations/accept', viewer, {'invite_token': invite})[0] == 200

def finish_build(run_id):
    status, job = call('POST', '/v1/jobs/claim', worker, {'queues': ['build'], 'worker_id': 'w1', 'wait_ms': 5000})
    assert status == 200 and job['run_id'] == run_id, (status, job)
    status, _ = call('POST', '/v1/jobs/%s/complete' % job['id'], worker, {'lease_token': job['lease_token'], 'output': {'artifact': 'build-42'}})
    assert status == 200, status

driver, wait = open_browser()

result = {}
try:
    def status_of_run():
        return driver.find_element(By.CSS_SELECTOR, '#run h1 .badge').get_attribute('data-status')

    sign_in('ada@example.com')
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-run="%s"] a' % run['id']))
    result['token_in_session_storage'] = driver.execute_script("return sessionStorage.getItem('troupe.token') !== null")
    result['cookies'] = len(driver.get_cookies())
    driver.find_element(By.CSS_SELECTOR, 'tr[data-run="%s"] a' % run['id']).click()
    wait.until(lambda d: d.find_elements(By.ID, 'run') and d.find_element(By.ID, 'run').get_attribute('data-live') == 'open')
    driver.execute_script('window.__sameDocument = true')
    result['metadata_text'] = read(lambda: driver.find_element(By.ID, 'metadata').text)
    result['images_in_metadata'] = read(lambda: len(driver.find_elements(By.CSS_SELECTOR, '#metadata img')))
    result['status_before'] = read(status_of_run)
    finish_build(run['id'])
    wait.until(lambda d: status_of_run() == 'awaiting_approval')
    result['build_step'] = read(lambda: driver.find_element(By.CSS_SELECTOR, 'li[data-step="build"] .badge').get_attribute('data-status'))
    result['live_without_reload'] = driver.execute_script('return window.__sameDocument === true')
    for width, name in [(1280, 'console-run-1280.png'), (390, 'console-run-390.png')]:
        driver.set_window_size(width, 900)
        time.sleep(0.3)
        driver.save_screenshot(os.path.join(shots, name))
    driver.set_window_size(1280, 900)
    read(lambda: driver.find_element(By.ID, 'note').send_keys('ship it'))
    read(lambda: driver.find_element(By.ID, 'approve').click())
    wait.until(lambda d: status_of_run() == 'succeeded')
    result['status_after'] = read(status_of_run)
    result['alerts'] = [entry['message'] for entry in driver.get_log('browser') if 'alert' in entry['message']]

    # A job that died: retried from the dead-letter queue on the workers page.
    status, dead = call('POST', '/v1/jobs', worker, {'queue': 'misc', 'input': {}, 'max_attempts': 1})
    status, leased = call('POST', '/v1/jobs/claim', worker, {'queues': ['misc'], 'worker_id': 'w1'})
    call('POST', '/v1/jobs/%s/fail' % dead['id'], worker, {'lease_token': leased['lease_token'], 'error': {'code': 'boom', 'message': 'it broke'}, 'retryable': False})
    driver.get(base + '/console#/work')
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#dlq tr[data-job="%s"] .retry-job' % dead['id']))
    read(lambda: driver.find_element(By.CSS_SELECTOR, '#dlq tr[data-job="%s"] .retry-job' % dead['id']).click())
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, '#dlq tr[data-job="%s"]' % dead['id']))
    result['retried_job_status'] = call('GET', '/v1/jobs/' + dead['id'], owner)[1]['status']
    # The audit chain, verified from the page.
    driver.get(base + '/console#/audit')
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#audit tr[data-seq]'))
    read(lambda: driver.find_element(By.ID, 'verify').click())
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#verdict [data-valid]'))
    result['audit_valid'] = read(lambda: driver.find_element(By.CSS_SELECTOR, '#verdict [data-valid]').get_attribute('data-valid'))
    result['audit_events'] = read(lambda: sorted(set(cell.text for cell in driver.find_elements(By.CSS_SELECTOR, '#audit td:nth-child(4)'))))
    # Settings: a new API key's raw key is shown once, with a copy button.
    driver.get(base + '/console#/settings')
    wait.until(lambda d: d.find_elements(By.ID, 'key-name'))
    driver.find_element(By.ID, 'key-name').send_keys('ci')
    driver.find_element(By.CSS_SELECTOR, 'input[data-scope="runs:read"]').click()
    driver.find_element(By.ID, 'create-key').click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#created-key code.secret'))
    raw = read(lambda: driver.find_element(By.CSS_SELECTOR, '#created-key code.secret').text)
    result['raw_key_shown'] = raw.startswith('sk_live_')
    result['raw_key_works'] = call('GET', '/v1/runs', raw)[0] == 200
    result['copy_buttons'] = len(driver.find_elements(By.CSS_SELECTOR, '#created-key button.copy'))
    result['plan'] = read(lambda: driver.find_element(By.CSS_SELECTOR, '#plan dd').text)
    driver.get(base + '/console#/runs')
    driver.get(base + '/console#/settings')
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#keys tbody tr'))
    result['raw_key_shown_again'] = raw in driver.page_source

    status, second = call('POST', '/v1/runs', owner, {'workflow': 'review'})
    finish_build(second['id'])
    driver.find_element(By.ID, 'sign-out').click()
    wait.until(lambda d: d.find_elements(By.ID, 'email'))
    result['token_after_sign_out'] = driver.execute_script("return sessionStorage.getItem('troupe.token')")
    # An API key signs in too (no user: it approves as a member, which this step does not list).
    key = call('POST', '/v1/api-keys', owner, {'name': 'reader', 'scopes': ['runs:read', 'runs:write', 'workflows:read']})[1]['raw_key']
    driver.find_element(By.ID, 'api-key').send_keys(key)
    driver.find_element(By.CSS_SELECTOR, '#key-form button').click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-run="%s"] a' % second['id']))
    result['key_who'] = read(lambda: driver.find_element(By.CSS_SELECTOR, '.who').text)
    driver.get(base + '/console#/runs/' + second['id'])
    wait.until(lambda d: d.find_elements(By.ID, 'run') and status_of_run() == 'awaiting_approval')
    result['key_approve_buttons'] = len(driver.find_elements(By.ID, 'approve'))
    driver.find_element(By.ID, 'sign-out').click()
    wait.until(lambda d: d.find_elements(By.ID, 'email'))
    sign_in('vic@example.com')
    driver.find_element(By.CSS_SELECTOR, '#workspace option[value="%s"]' % workspace).click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-run="%s"] a' % second['id']))
    driver.get(base + '/console#/runs/' + second['id'])
    wait.until(lambda d: d.find_elements(By.ID, 'run') and status_of_run() == 'awaiting_approval')
    result['viewer_role'] = read(lambda: driver.find_element(By.CSS_SELECTOR, '.who').text)
    result['viewer_settings_links'] = len(driver.find_elements(By.ID, 'settings-link'))
    result['viewer_approve_buttons'] = len(driver.find_elements(By.ID, 'approve'))
    result['forged_approve_status'] = driver.execute_async_script('''
        const done = arguments[arguments.length - 1];
        fetch('/v1/runs/' + arguments[0] + '/approve', {method: 'POST', headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('troupe.token'), 'Content-Type': 'application/json'}, body: '{}'})
          .then((r) => done(r.status), (e) => done(String(e)));''', second['id'])
    result['second_status'] = call('GET', '/v1/runs/' + second['id'], owner)[1]['status']
    result['severe_console_errors'] = [entry['message'] for entry in driver.get_log('browser') if entry['level'] == 'SEVERE' and '403' not in entry['message']]
finally:
    driver.quit()
print('RESULT ' + json.dumps(result))
"""#
}
